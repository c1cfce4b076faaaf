"""Payment events: the student hears of a recorded payment, the organisation of the answer; admins of a dispute."""

from __future__ import annotations

import pytest

from services.notification import domain
from services.notification.domain import ORG, ROUTES, STUDENT
from tests.unit.notification.notification_samples import sample_event


@pytest.mark.parametrize(
    ("event_type", "audience", "admins"),
    [
        ("stint.payment.recorded.v1", STUDENT, False),
        ("stint.payment.confirmed.v1", ORG, False),
        ("stint.payment.disputed.v1", ORG, True),
    ],
)
def test_each_payment_event_reaches_who_it_concerns(event_type, audience, admins):
    assert ROUTES[event_type].audience == audience
    assert ROUTES[event_type].copy_admins is admins


def test_a_dispute_says_the_amount_and_the_students_reason():
    event = sample_event("stint.payment.disputed.v1")
    context = domain.message_context(event["type"], event["data"])
    summary = domain.render_line(ROUTES[event["type"]].summary, context)
    assert summary == (
        "Asha Rao disputes the payment of 15000.00 INR recorded for Dashboard for field sales: only <b>half</b> arrived"
    )
    assert context["paid_on"] == "2030-02-20"  # the day in India


def test_the_admins_read_the_admins_inbox_and_no_one_else_does():
    assert domain.ADMINS_RECIPIENT in domain.inbox_owners("ops", "admin", None)
    for role, org in (("student", None), ("employer", "acme"), ("university", "iitm")):
        assert domain.ADMINS_RECIPIENT not in domain.inbox_owners("x", role, org)
    admins = domain.Addressee(domain.ADMINS_RECIPIENT, "Stint administrators")
    assert domain.channels_for(admins, domain.Preferences()) == [domain.IN_APP]
