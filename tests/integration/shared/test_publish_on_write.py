"""Publish on write (shared/publisher.py) on the real broker and database: the writer publishes what it stored at
once, the relay running beside it publishes nothing twice, and what a dying writer never published the relay does."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from pymongo import ReturnDocument

from shared.events import new_event
from shared.locks import document_lock
from shared.outbox import (
    LEASE_SECONDS,
    POINTERS,
    find_one_and_update_with_events,
    holding,
    insert_aggregate,
    new_document_with_events,
    point_to,
    publish_on_write,
    update_with_events,
    with_events,
)
from shared.publisher import GRACE_SECONDS, enable_publish_on_write
from tests.support.commands import logged
from tests.support.pipeline import publish_pending, relay_for

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def publishing(settings, db):
    """This test process publishes what it writes to `db` as the services do (undone after the test)."""
    publisher = enable_publish_on_write(db, dataclasses.replace(settings, publish_on_write=True))
    yield publisher
    publish_on_write(db.name, None)
    publisher.close()


def org_document(name: str) -> tuple[dict, str]:
    """A new organisation carrying its org.registered event; the document and the event's id."""
    org_id = uuid.uuid4().hex
    data = {"org_id": org_id, "name": name, "status": "pending"}
    event = new_event("stint.org.registered.v1", "listing", org_id, data)
    return new_document_with_events({"_id": org_id, "name": name, "status": "pending"}, [event]), event["id"]


def rename(db, org_id: str, name: str) -> str:
    """Rename an organisation through the helpers with an event; the event's id."""
    event = new_event(
        "stint.org.registered.v1", "listing", org_id, {"org_id": org_id, "name": name, "status": "verified"}
    )
    update_with_events(db.orgs, {"_id": org_id}, {"$set": {"name": name}}, [event])
    return event["id"]


def ids_on_topic(settings) -> collections.Counter:
    """How many times each event id was published to the listing topic."""
    consumer = KafkaConsumer(
        settings.topic("listing"),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    try:
        return collections.Counter(json.loads(message.value)["id"] for message in consumer)
    finally:
        consumer.close()


def pointers_at_orgs(db) -> int:
    """How many organisations the relays are pointed at (the collection also keeps the outbox leases)."""
    return db[POINTERS].count_documents({"collection": "orgs"})


def wait_until_all_sent(db, timeout: float = 30) -> None:
    """Until no event waits, and no pointer or outbox lease is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not db[POINTERS].count_documents({}) and not db.orgs.count_documents({"outbox_pending": True}):
            return
        time.sleep(0.05)
    raise AssertionError("events still waiting in the outbox")


def test_each_write_is_published_once_while_an_eager_relay_runs_beside_the_writers(settings, db, publishing):
    # The relay here polls every 10 ms with no grace, so it races the writers for every document: the shared lease
    # must still let exactly one of them publish each event.
    relay = relay_for(settings, [db.orgs])
    relay.pointed = {"orgs"}
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay.run_forever, args=(stop,), kwargs={"idle_seconds": 0.01})
    relay_thread.start()
    stored: list[str] = []
    busy, _ = org_document("Busy")
    try:
        insert_aggregate(db.orgs, busy)
        stored.append(busy["outbox"][0]["id"])

        def register_and_rename(n: int) -> None:
            document, event_id = org_document(f"Org {n}")
            insert_aggregate(db.orgs, document)
            stored.extend([event_id, rename(db, document["_id"], f"Org {n} Ltd"), rename(db, busy["_id"], f"B{n}")])

        writers = [threading.Thread(target=register_and_rename, args=(n,)) for n in range(10)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        wait_until_all_sent(db)
    finally:
        stop.set()
        relay_thread.join(timeout=30)
    published = ids_on_topic(settings)
    assert set(published) == set(stored) and len(stored) == 31
    assert [event_id for event_id, times in published.items() if times > 1] == []
    assert db.orgs.find_one({"_id": busy["_id"]})["outbox"] == []


WRITER_THAT_DIES = """
import json, os, sys, time
from pymongo import MongoClient
from shared.config import load_settings
from shared.outbox import insert_aggregate
from shared.publisher import enable_publish_on_write

given = json.loads(sys.argv[1])
settings = load_settings("listing", environ={"STINT_AUTH_SECRET": "s" * 40}, **given["settings"])
db = MongoClient(settings.mongo_url, tz_aware=True)[settings.database_name]
publisher = enable_publish_on_write(db, settings)
publisher.before_publish = lambda collection, document_id: os._exit(3)  # dies after the write, before publishing
insert_aggregate(db.orgs, given["document"])
time.sleep(30)
"""


def test_a_writer_that_dies_after_storing_and_before_publishing_loses_nothing(settings, db):
    document, event_id = org_document("Orphaned")
    given = {
        "settings": {
            "kafka_bootstrap": settings.kafka_bootstrap,
            "mongo_url": settings.mongo_url,
            "mongo_db": settings.database_name,
            "topic_prefix": settings.topic_prefix,
            "publish_on_write": True,
        },
        "document": document,
    }
    writer = subprocess.run(
        [sys.executable, "-c", WRITER_THAT_DIES, json.dumps(given, default=str)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
    )
    assert writer.returncode == 3, writer.stderr.decode()[-2000:]
    assert db.orgs.find_one({"_id": document["_id"]})["outbox_pending"] is True
    assert pointers_at_orgs(db) == 1
    # The writer took the document's outbox lease in its write and died holding it: the relay leaves the document
    # alone until the lease has lapsed (a live publisher could still be sending it), then publishes it.
    lease = {"_id": f"outbox:orgs/{document['_id']}"}
    assert db[POINTERS].count_documents(lease) == 1

    relay = relay_for(settings, [db.orgs])
    relay.pointed, relay.grace_seconds = {"orgs"}, 0.0
    try:
        assert relay.run_once(sweep=False) == 0
    finally:
        relay.close()
    lapsed = datetime.now(UTC) - timedelta(seconds=LEASE_SECONDS + 1)
    db[POINTERS].update_one(lease, {"$set": {"taken_at": lapsed}})  # as if LEASE_SECONDS had gone by

    relay.grace_seconds = GRACE_SECONDS
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay.run_forever, args=(stop,), kwargs={"idle_seconds": 0.05})
    relay_thread.start()
    try:
        wait_until_all_sent(db)
    finally:
        stop.set()
        relay_thread.join(timeout=30)
    assert ids_on_topic(settings) == {event_id: 1}


def test_with_the_broker_unreachable_a_write_neither_waits_nor_fails_and_its_events_stay_for_the_relay(settings, db):
    unreachable = dataclasses.replace(settings, kafka_bootstrap="127.0.0.1:9", publish_on_write=True)
    publisher = enable_publish_on_write(db, unreachable)
    try:
        took = []
        for n in range(5):
            document, _ = org_document(f"Offline {n}")
            started = time.monotonic()
            insert_aggregate(db.orgs, document)
            rename(db, document["_id"], f"Offline {n} Ltd")
            took.append(time.monotonic() - started)
        time.sleep(1)  # the background publisher tries, fails and stands aside
    finally:
        publish_on_write(db.name, None)
        publisher.close()
    assert max(took) < 1.0, took  # the producer waits up to 10 s for a broker; the writes did not
    assert db.orgs.count_documents({"outbox_pending": True}) == 5
    assert all(len(org["outbox"]) == 2 for org in db.orgs.find())
    assert pointers_at_orgs(db) == 5


def test_the_relay_leaves_a_document_its_writer_is_still_publishing_to_the_writer_and_takes_it_after_the_grace(
    settings, db
):
    document, event_id = org_document("In flight")
    insert_aggregate(db.orgs, document)  # no publisher here: as if its writer had it in hand
    relay = relay_for(settings, [db.orgs])
    relay.pointed, relay.grace_seconds = {"orgs"}, 60.0
    try:
        assert relay.run_once(sweep=False) == 0  # the pointer is younger than the grace
        assert relay.run_once(sweep=True) == 0  # and the sweep skips it too
        relay.grace_seconds = 0.0  # the grace has passed
        assert relay.run_once(sweep=False) == 1
    finally:
        relay.close()
    assert ids_on_topic(settings) == {event_id: 1}


def test_documents_relayed_together_go_out_once_each_and_a_write_landing_meanwhile_goes_out_next(settings, db):
    # The relay (like a busy writer's publisher) publishes documents together, sharing their locks' round trips; one
    # whose lock a writer holds at that moment is finished alone once the writer is done, its new event kept.
    documents = [org_document(f"Together {n}")[0] for n in range(5)]
    for document in documents:
        insert_aggregate(db.orgs, document)
    busy_id, meanwhile = documents[2]["_id"], []
    writer_holds_the_lock = threading.Event()

    def writer() -> None:
        with document_lock(db.orgs, busy_id):
            writer_holds_the_lock.set()
            time.sleep(0.3)
            event = new_event(
                "stint.org.registered.v1",
                "listing",
                busy_id,
                {"org_id": busy_id, "name": "Meanwhile", "status": "verified"},
            )
            db.orgs.update_one({"_id": busy_id}, with_events({"$set": {"name": "Meanwhile"}}, [event]))
            point_to(db.orgs, busy_id)
            meanwhile.append(event["id"])

    def after_publish(document: dict, _events: list) -> None:
        if document["_id"] == busy_id:
            threading.Thread(target=writer).start()
            assert writer_holds_the_lock.wait(5)

    relay = relay_for(settings, [db.orgs])
    relay.pointed, relay.after_publish = {"orgs"}, after_publish
    try:
        assert relay.run_once(sweep=False) == 5
        assert [event["id"] for event in db.orgs.find_one({"_id": busy_id})["outbox"]] == meanwhile
        assert pointers_at_orgs(db) == 1 and db.orgs.count_documents({"outbox_pending": True}) == 1
        relay.after_publish = None
        assert relay.run_once(sweep=False) == 1
    finally:
        relay.close()
    assert ids_on_topic(settings) == dict.fromkeys([d["outbox"][0]["id"] for d in documents] + meanwhile, 1)
    assert db[POINTERS].count_documents({}) == 0 and db.orgs.count_documents({"outbox_pending": True}) == 0


@contextlib.contextmanager
def publishing_logged(settings, db):
    """The database through a client of its own whose commands are logged, publishing on write as a service does."""
    with logged(db) as (mine, commands):
        publisher = enable_publish_on_write(mine, dataclasses.replace(settings, publish_on_write=True))
        try:
            yield mine, commands
        finally:
            publish_on_write(mine.name, None)
            publisher.close()


def test_a_writer_hands_its_publisher_the_outbox_and_the_lease_it_took_in_the_write(settings, db):
    # The writer takes the outbox lease in the insert that points the relays at the document, while it knows the
    # whole outbox; its publisher then needs no lease and no read of its own, and gives the lease back with the
    # pointer: 6 round trips for a new document and its publication, 9 for a change (they were 9 and 12).
    with publishing_logged(settings, db) as (mine, commands):
        document, registered = org_document("Counted")
        insert_aggregate(mine.orgs, document)
        wait_until_all_sent(db)
        inserted, commands.sent = commands.sent, []
        renamed = new_event(
            "stint.org.registered.v1",
            "listing",
            document["_id"],
            {"org_id": document["_id"], "name": "Renamed", "status": "verified"},
        )
        guard = {"_id": document["_id"], "name": "Counted"}
        after = find_one_and_update_with_events(
            mine.orgs, guard, {"$set": {"name": "Renamed"}}, [renamed], return_document=ReturnDocument.AFTER
        )
        wait_until_all_sent(db)
        changed = list(commands.sent)
    assert after["name"] == "Renamed" and [event["id"] for event in after["outbox"]] == [renamed["id"]]
    assert ids_on_topic(settings) == {registered: 1, renamed["id"]: 1}
    publication = ["insert document_locks", "findAndModify orgs", "delete outbox_pointers", "delete document_locks"]
    assert sorted(inserted) == sorted(["insert outbox_pointers", "insert orgs", *publication])
    write = ["insert document_locks", "find orgs", "findAndModify orgs", "insert outbox_pointers"]
    assert sorted(changed) == sorted([*write, "delete document_locks", *publication])


def test_a_document_held_for_a_read_and_a_write_is_read_once_and_published_once_the_lock_is_given_back(settings, db):
    # A use case that decides on the document as stored (holding) reads it under its lock: the write needs no guard
    # read (8 round trips for the read, the write and its publication, against 9 for a guarded change after a read).
    document, registered = org_document("Held")
    insert_aggregate(db.orgs, document)
    publish_pending(settings, [db.orgs])
    with publishing_logged(settings, db) as (mine, commands):
        with holding(mine.orgs, document["_id"]) as held:
            name = held.find_one()["name"]
            renamed = new_event(
                "stint.org.registered.v1",
                "listing",
                document["_id"],
                {"org_id": document["_id"], "name": f"{name} again", "status": "verified"},
            )
            after = held.find_one_and_update(
                {"$set": {"name": f"{name} again"}}, [renamed], return_document=ReturnDocument.AFTER
            )
            published_while_held = ids_on_topic(settings)[renamed["id"]]
            with pytest.raises(RuntimeError):  # a second write with events would not be handed over with the first
                held.find_one_and_update({"$set": {"name": "twice"}}, [renamed])
        wait_until_all_sent(db)
        sent = list(commands.sent)
    assert after["name"] == "Held again" and db.orgs.find_one({"_id": document["_id"]})["name"] == "Held again"
    assert published_while_held == 0  # handed to the publisher only once the lock was given back
    assert ids_on_topic(settings) == {registered: 1, renamed["id"]: 1}
    held_write = ["insert document_locks", "find orgs", "findAndModify orgs", "insert outbox_pointers"]
    publication = ["insert document_locks", "findAndModify orgs", "delete outbox_pointers", "delete document_locks"]
    assert sorted(sent) == sorted([*held_write, "delete document_locks", *publication])
