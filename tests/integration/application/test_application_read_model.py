"""The listing read model follows `stint.listing` events through the real broker; redeliveries change nothing."""

from __future__ import annotations

from kafka import KafkaProducer

from services.application import store
from services.application.read_model import record_listing
from services.application.worker import HANDLERS
from shared.events import encode_event, new_event
from shared.worker import bind_handlers
from tests.integration.application.app_support import ORG, listing_event
from tests.support.pipeline import consume_until, consumer_for, create_topics


def _produce(settings, events: list[dict]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for event in events:
            producer.send(settings.topic("listing"), key=event["subject"].encode(), value=encode_event(event))
        producer.flush()
    finally:
        producer.close()


def _caught_up(consumer) -> bool:
    """True when the consumer has read to the end of every partition it owns."""
    assigned = consumer.kafka.assignment()
    if not assigned:
        return False
    ends = consumer.kafka.end_offsets(list(assigned))
    return all(consumer.kafka.position(partition) >= end for partition, end in ends.items())


def _life_of_a_listing(listing_id: str) -> list[dict]:
    org = {"org_id": ORG, "name": "Acme Analytics", "website": "https://acme.example", "status": "verified"}
    return [
        new_event("stint.org.verified.v1", "listing", ORG, org),
        listing_event("published", listing_id=listing_id, version=2, seats=2),
        listing_event("updated", listing_id=listing_id, version=3, seats=4, title="Rebuild the sales dashboard"),
        listing_event(
            "closed",
            listing_id=listing_id,
            version=4,
            seats=4,
            title="Rebuild the sales dashboard",
            status="closed",
            closed_reason="owner",
        ),
    ]


def test_the_read_model_follows_listing_events_and_ignores_redeliveries(app_settings, db):
    create_topics(app_settings)
    events = _life_of_a_listing("L-1")
    consumer = consumer_for(app_settings, db, ["listing"], bind_handlers(HANDLERS, db))
    try:
        _produce(app_settings, events)
        consume_until(consumer, lambda: (store.find_listing(db, "L-1") or {}).get("version") == 4)
        seen = store.find_listing(db, "L-1")
        org = store.find_org(db, ORG)

        _produce(app_settings, events + events)  # every event delivered twice more
        consume_until(consumer, lambda: _caught_up(consumer))
    finally:
        consumer.close()

    assert seen["status"] == "closed"
    assert seen["title"] == "Rebuild the sales dashboard"
    assert seen["seats"] == 4
    assert org["website"] == "https://acme.example"
    assert store.find_listing(db, "L-1") == seen
    assert store.find_org(db, ORG) == org
    assert db.handled_events.count_documents({}) == len(events)


def test_an_older_snapshot_arriving_late_is_ignored(db):
    record_listing(db, listing_event("updated", listing_id="L-2", version=5, title="Newest"))

    record_listing(db, listing_event("published", listing_id="L-2", version=4, title="Older"))
    record_listing(db, listing_event("updated", listing_id="L-2", version=5, title="Same version again"))

    assert store.find_listing(db, "L-2")["title"] == "Newest"


def test_redelivering_the_same_events_twice_changes_nothing_even_without_the_event_log(db):
    events = _life_of_a_listing("L-3")
    handlers = bind_handlers(HANDLERS, db)
    for event in events:
        handlers[event["type"]](event)
    listing, org = store.find_listing(db, "L-3"), store.find_org(db, ORG)

    for event in events + events:
        handlers[event["type"]](event)

    assert store.find_listing(db, "L-3") == listing
    assert store.find_org(db, ORG) == org


def test_a_newer_snapshot_leaves_the_seats_already_taken(calls, people, db, published_listing, token):
    listing = published_listing(seats=1)
    calls.accepted(listing)

    record_listing(db, listing_event("updated", **{**listing, "version": 2, "title": "Renamed"}))
    second = calls.act(people.employer, calls.applied(listing, token("student", sub="stu-chen")), "accept")

    assert store.find_listing(db, listing["listing_id"])["title"] == "Renamed"
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "no_seats_left"
