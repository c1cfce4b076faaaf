"""An organisation that leaves a payment dispute open for 14 days is flagged on its listings (via the real broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.listing import handlers
from services.listing.worker import HANDLERS
from shared.events import new_event, read_event
from shared.worker import bind_handlers
from tests.support.pipeline import consume_until, consumer_for

from .conftest import OTHER_ORG, OWN_ORG
from .test_listing_seats import deliver_twice, drained


def payment_event(status: str, application_id: str, disputed_at: datetime | None = None, org_id: str = OWN_ORG):
    """What the application service announces about a payment."""
    data = {
        "application_id": application_id,
        "listing_id": "L-any",
        "listing_title": "Build an invoice parser",
        "org_id": org_id,
        "student": {"id": f"student-of-{application_id}", "name": "Asha", "email": "asha@example.org"},
        "status": status,
        "previous_status": None,
        "amount": "15000.00",
        "currency": "INR",
        "paid_on": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
        "reference": "UPI-1",
        "reason": "never arrived" if status == "disputed" else "",
        "disputed_at": disputed_at.isoformat() if disputed_at else None,
    }
    return new_event(f"stint.payment.{status}.v1", "application", application_id, data)


@pytest.fixture
def dispute_consumer(settings, db):
    consumer = consumer_for(settings, db, ["application"], bind_handlers(HANDLERS, db))
    yield consumer
    consumer.close()


def flag_of(client, listing_id: str):
    return client.get(f"/listings/{listing_id}").get_json()["org_flag"]


def test_a_dispute_open_for_14_days_flags_every_listing_of_the_org_until_settled(
    platform, client, db, settings, verified_org, dispute_consumer
):
    listing = platform.published_listing()
    long_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=15)
    deliver_twice(
        settings,
        [payment_event("disputed", "app-old", long_ago), payment_event("disputed", "app-new", datetime.now(UTC))],
    )
    consume_until(dispute_consumer, lambda: db.handled_events.count_documents({}) == 2 and drained(dispute_consumer))

    assert datetime.fromisoformat(flag_of(client, listing["id"])["open_payment_dispute_since"]) == long_ago
    assert platform.search()["items"][0]["org_flag"] is not None
    mine = client.get("/listings?mine=1", headers=platform.callers["employer"]).get_json()["items"]
    assert mine[0]["org_flag"] is not None

    deliver_twice(settings, [payment_event("recorded", "app-old")])  # the employer corrected the payment
    consume_until(dispute_consumer, lambda: db.handled_events.count_documents({}) == 3 and drained(dispute_consumer))
    assert flag_of(client, listing["id"]) is None  # the remaining dispute is one day old


def test_a_fresh_dispute_does_not_flag_and_other_orgs_are_never_flagged(platform, client, db, verified_org):
    listing = platform.published_listing()
    handlers.open_payment_dispute(
        db, read_event(payment_event("disputed", "app-1", datetime.now(UTC) - timedelta(days=13)))
    )
    long_ago = datetime.now(UTC) - timedelta(days=40)
    handlers.open_payment_dispute(db, read_event(payment_event("disputed", "app-2", long_ago, org_id=OTHER_ORG)))
    assert flag_of(client, listing["id"]) is None


def test_the_student_confirming_settles_the_dispute(platform, client, db, verified_org):
    listing = platform.published_listing()
    handlers.open_payment_dispute(
        db, read_event(payment_event("disputed", "app-1", datetime.now(UTC) - timedelta(days=20)))
    )
    assert flag_of(client, listing["id"]) is not None
    handlers.settle_payment_dispute(db, read_event(payment_event("confirmed", "app-1")))
    handlers.settle_payment_dispute(db, read_event(payment_event("confirmed", "app-1")))  # a replay changes nothing
    assert flag_of(client, listing["id"]) is None
