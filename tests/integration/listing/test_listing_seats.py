"""Accepted applications fill seats through the real broker; every effect happens once."""

from __future__ import annotations

import uuid

import pytest

from services.listing import handlers
from services.listing.worker import HANDLERS
from shared.events import encode_event, new_event, read_event
from shared.outbox import make_producer
from shared.worker import bind_handlers
from tests.support.pipeline import consume_until, consumer_for

from .conftest import OWN_ORG


def application_event(listing: dict, status: str, application_id: str, previous_status: str | None = None) -> dict:
    """What the application service announces about one application."""
    data = {
        "application_id": application_id,
        "listing_id": listing["id"],
        "listing_title": listing["title"],
        "org_id": OWN_ORG,
        "student": {"id": f"student-of-{application_id}", "name": "Asha", "email": "asha@example.org"},
        "status": status,
        "previous_status": previous_status,
    }
    return new_event(f"stint.application.{status}.v1", "application", application_id, data)


def deliver_twice(settings, events: list[dict]) -> None:
    """Put every event on the application topic twice, as an at-least-once producer may."""
    producer = make_producer(settings.kafka_bootstrap, "test-application-producer")
    try:
        for event in events:
            for _ in range(2):
                producer.send(settings.topic("application"), key=event["subject"].encode(), value=encode_event(event))
        producer.flush()
    finally:
        producer.close()


def drained(consumer) -> bool:
    """The consumer has read everything on its partitions (duplicates included)."""
    assigned = consumer.kafka.assignment()
    if not assigned:
        return False
    ends = consumer.kafka.end_offsets(list(assigned))
    return all(consumer.kafka.position(partition) >= end for partition, end in ends.items())


@pytest.fixture
def seat_consumer(settings, db):
    consumer = consumer_for(settings, db, ["application"], bind_handlers(HANDLERS, db))
    yield consumer
    consumer.close()


def stored(db, listing: dict) -> dict:
    return db.listings.find_one({"_id": listing["id"]})


def test_accepted_applications_fill_the_seats_and_close_the_listing_once(
    platform, client, db, settings, verified_org, seat_consumer, tap
):
    listing = platform.published_listing(seats=2)
    accepted = [application_event(listing, "accepted", f"app-{n}") for n in range(2)]
    deliver_twice(settings, accepted)

    consume_until(seat_consumer, lambda: stored(db, listing)["status"] == "closed" and drained(seat_consumer))
    current = client.get(f"/listings/{listing['id']}").get_json()
    assert current["seats_filled"] == 2
    assert current["seats_left"] == 0
    assert current["closed_reason"] == "seats_filled"
    assert platform.search()["items"] == []

    tap.read(5)  # registered, verified, published, updated (first seat), closed (last seat)
    assert tap.flush() == 0
    kinds = [kind for kind, _ in tap.of(listing["id"])]
    assert kinds == ["stint.listing.published.v1", "stint.listing.updated.v1", "stint.listing.closed.v1"]
    assert tap.last(listing["id"])["data"]["seats_filled"] == 2


def test_a_withdrawn_acceptance_frees_its_seat(platform, client, db, settings, verified_org, seat_consumer):
    listing = platform.published_listing(seats=3)
    deliver_twice(
        settings,
        [
            application_event(listing, "accepted", "app-1"),
            application_event(listing, "accepted", "app-2"),
            application_event(listing, "withdrawn", "app-1", previous_status="accepted"),
            application_event(listing, "withdrawn", "app-3", previous_status="applied"),  # held no seat
        ],
    )
    consume_until(seat_consumer, lambda: db.handled_events.count_documents({}) == 4 and drained(seat_consumer))
    current = client.get(f"/listings/{listing['id']}").get_json()
    assert current["seats_filled"] == 1
    assert current["seats_left"] == 2
    assert current["status"] == "published"


def test_a_replayed_acceptance_counts_once_even_without_the_runners_bookkeeping(platform, db, verified_org):
    listing = platform.published_listing(seats=2)
    event = application_event(listing, "accepted", "app-1")
    # As after a crash between the effect and the record of the handled event id.
    handlers.count_accepted_seat(db, read_event(event))
    handlers.count_accepted_seat(db, read_event({**event, "id": str(uuid.uuid4())}))
    assert stored(db, listing)["seats_filled"] == 1
    assert stored(db, listing)["version"] == listing["version"] + 1


def test_an_acceptance_for_an_unknown_listing_is_recorded_and_skipped(db):
    event = application_event({"id": str(uuid.uuid4()), "title": "Gone"}, "accepted", "app-1")
    assert handlers.count_accepted_seat(db, read_event(event)) == {"ignored": "unknown listing"}
