"""The routing table: every catalog event is either told to someone or deliberately silent."""

from __future__ import annotations

import pytest

from services.notification import domain, messages
from services.notification.domain import INVITEE, LISTING_APPLICANTS, ORG, ROUTES, STUDENT, UNIVERSITY
from services.notification.worker import HANDLERS
from shared.events import CATALOG
from tests.unit.notification.notification_samples import sample_event


def test_every_catalog_event_is_routed_or_deliberately_silent():
    assert set(ROUTES) | set(domain.DELIBERATELY_SILENT) == set(CATALOG)
    assert not set(ROUTES) & set(domain.DELIBERATELY_SILENT)


def test_every_silent_event_says_why():
    assert all(len(reason) > 20 for reason in domain.DELIBERATELY_SILENT.values())


def test_the_worker_consumes_every_catalog_event_so_webhooks_can_subscribe_to_any():
    assert set(HANDLERS) == set(CATALOG)


@pytest.mark.parametrize(
    ("event_type", "audience"),
    [
        ("stint.application.shortlisted.v1", STUDENT),
        ("stint.application.accepted.v1", STUDENT),
        ("stint.application.rejected.v1", STUDENT),
        ("stint.work.changes_requested.v1", STUDENT),
        ("stint.work.approved.v1", STUDENT),
        ("stint.certificate.issued.v1", STUDENT),
        ("stint.certificate.revoked.v1", STUDENT),
        ("stint.certificate.credit_decided.v1", STUDENT),
        ("stint.application.submitted.v1", ORG),
        ("stint.work.submitted.v1", ORG),
        ("stint.application.withdrawn.v1", ORG),
        ("stint.org.verified.v1", ORG),
        ("stint.listing.closed.v1", LISTING_APPLICANTS),
        ("stint.org.member_invited.v1", INVITEE),
        ("stint.certificate.reissued.v1", STUDENT),
        ("stint.university.verified.v1", ORG),
        ("stint.credit.requested.v1", UNIVERSITY),
    ],
)
def test_each_event_reaches_the_people_it_concerns(event_type, audience):
    assert ROUTES[event_type].audience == audience


def test_every_route_has_a_plain_text_and_an_html_template():
    templates = messages.template_names()
    for route in ROUTES.values():
        assert route.template in templates
        assert (messages.TEMPLATE_DIR / "email" / f"{route.template}.html").exists()


@pytest.mark.parametrize("event_type", sorted(ROUTES))
def test_every_route_renders_a_title_summary_and_both_email_parts(event_type):
    route = ROUTES[event_type]
    context = domain.message_context(event_type, sample_event(event_type)["data"], org_name="Acme Analytics")
    title = domain.render_line(route.title, context)
    summary = domain.render_line(route.summary, context)
    email = messages.render_email(route.template, title, summary, "", "Asha", context)
    assert "Dashboard for field sales" in title or "Acme Analytics" in title
    assert summary in email.text
    assert "<html" in email.html and "Hello Asha" in email.html


def test_credential_messages_point_at_the_verification_page():
    event = sample_event("stint.certificate.issued.v1")
    route = ROUTES[event["type"]]
    context = domain.message_context(event["type"], event["data"])
    assert context[route.link] == event["data"]["verification_url"]


def test_an_invitation_is_emailed_to_the_invited_address_only():
    invitee = domain.Addressee(domain.email_recipient("Ravi@Acme.example"), "", "ravi@acme.example")
    assert domain.channels_for(invitee, domain.Preferences()) == [domain.EMAIL]
    event = sample_event("stint.org.member_invited.v1")
    context = domain.message_context(event["type"], event["data"])
    assert context[ROUTES[event["type"]].link] == event["data"]["accept_url"]
    assert "Meera invited you to join Acme Analytics" in domain.render_line(ROUTES[event["type"]].summary, context)


def test_a_credit_request_is_told_to_the_university_and_its_webhooks_hear_it():
    event = sample_event("stint.credit.requested.v1")
    context = domain.message_context(event["type"], event["data"])
    summary = domain.render_line(ROUTES[event["type"]].summary, context)
    assert summary == "Asha Rao asks Acme Analytics University for academic credit for Dashboard for field sales."
    assert domain.org_concerned(event["type"], event["data"]) == "org-uni"
