"""Email bodies: both parts carry the message; HTML escapes what users typed."""

from __future__ import annotations

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
    message = build_message(sender, "asha@example.org", email.subject, email.text, email.html, "d-1")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "You are accepted for Dashboard for field sales"
