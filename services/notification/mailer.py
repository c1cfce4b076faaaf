"""SMTP: a connection from STINT_SMTP_URL and a two-part (plain text + HTML) message."""

from __future__ import annotations

import smtplib
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

DEFAULT_SENDER = "Stint <no-reply@stint.local>"


def open_smtp(url: str, timeout: float = 10.0) -> smtplib.SMTP:
    """Connect to `smtp://[user:pass@]host:port` (add `?starttls=1` to upgrade) or `smtps://host:port`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("STINT_SMTP_URL must look like smtp://host:port or smtps://host:port")
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout)
    else:
        client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
        if "starttls=1" in parts.query:
            client.starttls()
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


def build_message(sender: str, to: str, subject: str, text: str, html: str, delivery_id: str) -> Message:
    """A multipart/alternative email: plain text first, HTML as the preferred alternative.

    Built with the email package's compat32 MIME classes, about a third of the CPU of `EmailMessage` (whose policy
    parses and refolds every header: it was a quarter of the notification worker's time at 20 approvals a second).
    Non-ASCII names and subjects are RFC 2047 encoded, bodies quoted-printable UTF-8. An address whose mailbox itself
    is not ASCII needs SMTPUTF8, which `EmailMessage` and `smtplib.SMTP.send_message` handle: such a message is built
    with `EmailMessage`. `send_message` sends either.
    """
    sender_name, sender_address = parseaddr(sender)
    if not (sender_address + to).isascii():  # an internationalised address (RFC 6531): the modern API
        message = EmailMessage()
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return _addressed(message, sender, to, subject, delivery_id)
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(text, "plain", _UTF8_QP))
    message.attach(MIMEText(html, "html", _UTF8_QP))
    sender = formataddr((sender_name, sender_address), charset="utf-8")
    subject = subject if subject.isascii() else Header(subject, "utf-8").encode()
    return _addressed(message, sender, to, subject, delivery_id)


def _addressed(message: Message, sender: str, to: str, subject: str, delivery_id: str) -> Message:
    """`message` with its envelope headers."""
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(idstring=delivery_id.replace("-", ""), domain="stint.local")
    # Lets a mail client or a support person trace a message back to its delivery record.
    message["X-Stint-Delivery"] = delivery_id
    return message


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable where the text is ASCII, unlike the base64 compat32 gives UTF-8 by default
