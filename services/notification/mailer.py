"""SMTP: a connection from STINT_SMTP_URL and a two-part (plain text + HTML) message."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
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


def build_message(sender: str, to: str, subject: str, text: str, html: str, delivery_id: str) -> EmailMessage:
    """A multipart/alternative email: plain text first, HTML as the preferred alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(idstring=delivery_id.replace("-", ""), domain="stint.local")
    # Lets a mail client or a support person trace a message back to its delivery record.
    message["X-Stint-Delivery"] = delivery_id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
