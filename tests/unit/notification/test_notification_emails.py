"""Email bodies: both parts carry the message; HTML escapes what users typed."""

from __future__ import annotations

from email import message_from_bytes, message_from_string
from email import policy as mail_policy
from email.message import EmailMessage

from services.notification import domain
from services.notification.mailer import build_message
from services.notification.messages import render_email
from tests.unit.notification.notification_samples import sample_event


def render(event_type: str):
    event = sample_event(event_type)
    route = domain.ROUTES[event_type]
    context = domain.message_context(event_type, event["data"])
    link = context.get(route.link, "") if route.link else ""
    title = domain.render_line(route.title, context)
    return event, render_email(route.template, title, domain.render_line(route.summary, context), link, "Asha", context)


def test_a_credential_email_carries_the_verification_link_in_both_parts():
    event, email = render("stint.certificate.issued.v1")
    url = event["data"]["verification_url"]
    assert url in email.text
    assert f'href="{url}"' in email.html


def test_feedback_reaches_the_student_and_is_escaped_in_html():
    _, email = render("stint.work.changes_requested.v1")
    assert "Please add a <b>legend</b> & units" in email.text
    assert "Please add a &lt;b&gt;legend&lt;/b&gt; &amp; units" in email.html
    assert "<b>legend" not in email.html


def test_the_mime_message_has_a_plain_text_and_an_html_alternative():
    _, email = render("stint.application.accepted.v1")
    sender = "Stint <no-reply@stint.test>"
    message = received(build_message(sender, "asha@example.org", email.subject, email.text, email.html, "d-1"))
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "You are accepted for Dashboard for field sales"
    assert message["To"] == "asha@example.org"
    assert message["X-Stint-Delivery"] == "d-1"
    assert message.get_body(("plain",)).get_content() == email.text
    assert message.get_body(("html",)).get_content() == email.html


def test_names_subjects_and_text_beyond_ascii_reach_the_reader_as_written():
    sender = "Stint Zürich <no-reply@stint.test>"
    text, html = "Grüße, Zoë — ✓\n", "<p>Grüße, Zoë — ✓</p>\n"
    message = received(build_message(sender, "zoe@example.org", "Angenommen: Übersetzung ✓", text, html, "d-2"))
    assert message["From"].addresses[0].display_name == "Stint Zürich"
    assert message["From"].addresses[0].addr_spec == "no-reply@stint.test"
    assert message["Subject"] == "Angenommen: Übersetzung ✓"
    assert message.get_body(("plain",)).get_content() == text
    assert message.get_body(("html",)).get_content() == html


def test_an_address_beyond_ascii_is_kept_whole_for_an_smtputf8_server():
    message = build_message("Stint <no-reply@stint.test>", "zoë@exämple.org", "Hello", "Hi\n", "<p>Hi</p>\n", "d-3")
    assert message["To"] == "zoë@exämple.org"
    assert received(message, utf8=True)["To"].addresses[0].addr_spec == "zoë@exämple.org"


def received(message, utf8: bool = False) -> EmailMessage:
    """The message as a mail client reads it from the bytes sent (`utf8`: as an SMTPUTF8 server gets it)."""
    if utf8:
        sent = message.as_bytes(policy=mail_policy.default.clone(utf8=True)).decode()
        return message_from_string(sent, policy=mail_policy.default)
    return message_from_bytes(message.as_bytes(), policy=mail_policy.default)
