"""The worker's seat and dispute use cases (services/listing/handlers.py) on a small fake store: what a listing
owner would see after acceptances, withdrawals and disputes arrive, redelivered or racing another writer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.listing import handlers
from shared.events import new_event, read_event
from tests.unit.listing.test_listing_domain import published


class FakeStore:
    """The few store functions the use cases call, kept in dicts; `update_listing` is guarded by the version as the
    real one is, and `races` makes the next n guarded writes lose to another writer."""

    def __init__(self, *listings: dict):
        self.listings = {listing["_id"]: listing for listing in listings}
        self.events: list[dict] = []
        self.disputes: dict[str, dict[str, datetime]] = {}
        self.races = 0

    def find_listing(self, db, listing_id: str, public: bool = False) -> dict | None:
        return self.listings.get(listing_id)

    def update_listing(self, db, listing: dict, changes: dict, events: list[dict]) -> bool:
        stored = self.listings[listing["_id"]]
        if self.races:
            self.races -= 1
            self.listings[listing["_id"]] = stored = {**stored, "version": stored["version"] + 1}
        if stored["version"] != listing["version"]:
            return False
        self.listings[listing["_id"]] = {**stored, **changes}
        self.events.extend(events)
        return True

    def open_dispute(self, db, org_id: str, application_id: str, since: datetime) -> None:
        self.disputes.setdefault(org_id, {})[application_id] = since

    def close_dispute(self, db, org_id: str, application_id: str) -> None:
        self.disputes.get(org_id, {}).pop(application_id, None)


@pytest.fixture
def listing():
    return {**published(), "_id": "L1", "seats": 2}


@pytest.fixture
def fake(monkeypatch, listing):
    store = FakeStore(listing)
    monkeypatch.setattr(handlers, "store", store)
    return store


def application_event(status: str, application_id: str, previous_status: str | None = None):
    data = {
        "application_id": application_id,
        "listing_id": "L1",
        "listing_title": "Build a dashboard",
        "org_id": "acme",
        "student": {"id": f"student-{application_id}", "name": "Asha", "email": "asha@example.org"},
        "status": status,
        "previous_status": previous_status,
    }
    return read_event(new_event(f"stint.application.{status}.v1", "application", application_id, data))


def test_each_acceptance_takes_a_seat_once_and_the_last_seat_closes_the_listing(fake):
    first = application_event("accepted", "app-1")
    assert handlers.count_accepted_seat(None, first) == {"listing_id": "L1", "seats_filled": 1, "status": "published"}
    handlers.count_accepted_seat(None, read_event({**first.envelope, "id": str(uuid.uuid4())}))  # redelivered
    assert fake.listings["L1"]["seats_filled"] == 1
    closed = handlers.count_accepted_seat(None, application_event("accepted", "app-2"))
    assert closed == {"listing_id": "L1", "seats_filled": 2, "status": "closed"}
    assert [e["type"] for e in fake.events] == ["stint.listing.updated.v1", "stint.listing.closed.v1"]
    assert fake.events[-1]["data"]["accepted_applications"] == ["app-1", "app-2"]  # no closing news to them


def test_an_acceptance_racing_another_writer_is_counted_on_the_listing_read_again(fake):
    fake.races = 2
    handlers.count_accepted_seat(None, application_event("accepted", "app-1"))
    assert fake.listings["L1"]["seats_filled"] == 1 and len(fake.events) == 1


def test_only_an_application_that_held_a_seat_frees_one(fake):
    handlers.count_accepted_seat(None, application_event("accepted", "app-1"))
    held_none = handlers.release_seat(None, application_event("withdrawn", "app-2", previous_status="applied"))
    assert held_none == {"ignored": "the application held no seat"}
    freed = handlers.release_seat(None, application_event("withdrawn", "app-1", previous_status="accepted"))
    assert freed["seats_filled"] == 0 and fake.listings["L1"]["released_applications"] == ["app-1"]


def test_a_seat_event_for_a_listing_never_seen_changes_nothing(fake):
    fake.listings.clear()
    assert handlers.count_accepted_seat(None, application_event("accepted", "app-1")) == {"ignored": "unknown listing"}
    assert fake.events == []


def payment_event(status: str, disputed_at: str | None = None):
    data = {
        "application_id": "app-1",
        "listing_id": "L1",
        "listing_title": "Build a dashboard",
        "org_id": "acme",
        "student": {"id": "student-app-1"},
        "status": status,
        "amount": "15000.00",
        "currency": "INR",
        "paid_on": "2026-11-01T10:00:00+00:00",
        "disputed_at": disputed_at,
    }
    return read_event(new_event(f"stint.payment.{status}.v1", "application", "app-1", data))


def test_a_dispute_is_open_from_when_the_student_raised_it_until_the_payment_is_confirmed(fake):
    handlers.open_payment_dispute(None, payment_event("disputed", "2026-11-02T09:30:00+00:00"))
    assert fake.disputes == {"acme": {"app-1": datetime(2026, 11, 2, 9, 30, tzinfo=UTC)}}
    handlers.settle_payment_dispute(None, payment_event("confirmed"))
    assert fake.disputes == {"acme": {}}


def test_a_dispute_without_its_own_time_is_open_from_the_events_time(fake):
    event = payment_event("disputed")
    handlers.open_payment_dispute(None, event)
    assert fake.disputes["acme"]["app-1"] == event.time
