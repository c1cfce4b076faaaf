"""The outbox and the consumer runner on the real broker and database: every effect happens once."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from shared.consumer import InfrastructureDown
from shared.events import new_event
from shared.locks import DocumentBusy
from shared.outbox import insert_aggregate, new_document_with_events, update_with_events, with_events
from tests.support.pipeline import consume_until, consumer_for, publish_pending, relay_for
from tests.support.samples import register_org


class Crash(BaseException):
    """Stands for a process dying at a chosen point (BaseException, so no handler catches it)."""


def counting_handler(db):
    """A deliberately naive effect ($inc), so a second delivery would show as a double count."""

    def handle(event):
        db.effects.update_one({"_id": event["subject"]}, {"$inc": {"count": 1}}, upsert=True)
        return "counted"

    return handle


def effect_counts(db) -> dict:
    return {doc["_id"]: doc["count"] for doc in db.effects.find()}


def test_an_event_reaches_the_consumer_once_even_when_delivered_twice(settings, db):
    org_id = register_org(db, "Acme")
    assert publish_pending(settings, [db.orgs]) == 1
    assert db.orgs.find_one({"_id": org_id})["outbox"] == []
    consumer = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": counting_handler(db)})
    try:
        consume_until(consumer, lambda: org_id in effect_counts(db))
        # Publish the very same event again: a redelivery.
        db.orgs.update_one({"_id": org_id}, with_events({}, [_stored_event(db, org_id)]))
        publish_pending(settings, [db.orgs])
        consume_until(consumer, lambda: db.handled_events.count_documents({}) >= 1 and _lag_is_zero(consumer))
    finally:
        consumer.close()
    assert effect_counts(db) == {org_id: 1}


def _stored_event(db, org_id):
    event_id = db.handled_events.find_one({"subject": org_id})["_id"]
    return {
        **new_event(
            "stint.org.registered.v1", "listing", org_id, {"org_id": org_id, "name": "Acme", "status": "pending"}
        ),
        "id": event_id,
    }


def _lag_is_zero(consumer) -> bool:
    assigned = consumer.kafka.assignment()
    if not assigned:
        return False
    ends = consumer.kafka.end_offsets(list(assigned))
    return all(consumer.kafka.position(tp) >= end for tp, end in ends.items())


def test_writes_go_on_while_the_broker_is_down_and_flow_when_it_is_back(servers, settings, db):
    if servers.kafka is None:
        pytest.skip("the broker is external to this test run, so the test cannot stop it")
    servers.kafka.stop()
    try:
        org_ids = [register_org(db, f"Org {i}") for i in range(5)]
        relay = relay_for(settings, [db.orgs])
        with pytest.raises(Exception):  # noqa: B017 - any broker error: the point is that nothing is lost
            relay.run_once()
        relay.close()
        assert db.orgs.count_documents({"outbox_pending": True}) == 5
    finally:
        servers.kafka.restart()
    assert publish_pending(settings, [db.orgs], timeout=60) == 5
    consumer = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": counting_handler(db)})
    try:
        consume_until(consumer, lambda: len(effect_counts(db)) == 5, timeout=60)
    finally:
        consumer.close()
    assert effect_counts(db) == {org_id: 1 for org_id in org_ids}


def test_a_relay_that_dies_after_publishing_but_before_marking_sent_causes_no_double_effect(settings, db):
    org_id = register_org(db, "Acme")
    relay = relay_for(settings, [db.orgs])

    def die(document, events):
        raise Crash()

    relay.after_publish = die
    with pytest.raises(Crash):
        relay.run_once()
    relay.close()
    assert db.orgs.find_one({"_id": org_id})["outbox_pending"] is True
    assert publish_pending(settings, [db.orgs]) == 1  # published a second time
    consumer = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": counting_handler(db)})
    try:
        consume_until(consumer, lambda: org_id in effect_counts(db) and _lag_is_zero(consumer))
    finally:
        consumer.close()
    assert effect_counts(db) == {org_id: 1}
    assert _messages_on(settings, settings.topic("listing")) == 2


def test_a_consumer_that_dies_after_its_effect_but_before_committing_causes_no_double_effect(settings, db):
    org_id = register_org(db, "Acme")
    publish_pending(settings, [db.orgs])
    first = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": counting_handler(db)})

    def die(event):
        raise Crash()

    first.after_effect = die
    with pytest.raises(Crash):
        consume_until(first, lambda: False, timeout=30)
    first.close()  # leaves the group without committing
    second = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": counting_handler(db)})
    try:
        consume_until(second, lambda: _lag_is_zero(second))
    finally:
        second.close()
    assert effect_counts(db) == {org_id: 1}


def test_a_consumer_killed_between_commits_leaves_its_events_to_the_next_which_skips_them(settings, db):
    orgs = [register_org(db, f"Org {n}") for n in range(5)]
    publish_pending(settings, [db.orgs])
    handlers = {"stint.org.registered.v1": counting_handler(db)}
    first = consumer_for(settings, db, ["listing"], handlers, commit_interval=3600)
    consume_until(first, lambda: len(effect_counts(db)) == 5)
    first.kafka.close(autocommit=False)  # killed: nothing it handled was committed (the next commit was an hour off)
    second = consumer_for(settings, db, ["listing"], handlers)
    try:
        delivered_again = _consume_until_caught_up(second)
    finally:
        second.close()
    assert delivered_again == 5  # every event came again...
    assert effect_counts(db) == {org_id: 1 for org_id in orgs}  # ...and none had its effect twice


def test_a_consumer_commits_what_it_handled_when_it_closes(settings, db):
    for n in range(3):
        register_org(db, f"Org {n}")
    publish_pending(settings, [db.orgs])
    handlers = {"stint.org.registered.v1": counting_handler(db)}
    first = consumer_for(settings, db, ["listing"], handlers, commit_interval=3600)
    consume_until(first, lambda: len(effect_counts(db)) == 3)
    first.close()
    second = consumer_for(settings, db, ["listing"], handlers)
    try:
        assert _consume_until_caught_up(second) == 0  # it starts after what the first handled
    finally:
        second.close()


def _consume_until_caught_up(consumer, timeout: float = 30.0) -> int:
    """Poll until the consumer has partitions and has read to their ends; how many records it consumed."""
    consumed, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        consumed += consumer.poll_once()
        if _lag_is_zero(consumer):
            return consumed
    raise AssertionError(f"the consumer did not catch up within {timeout}s")


def test_poison_messages_go_to_the_dead_letter_topic_and_the_consumer_moves_on(settings, db):
    topic = settings.topic("listing")
    bad_schema = new_event(
        "stint.org.registered.v1", "listing", "bad", {"org_id": "bad", "name": "B", "status": "pending"}
    )
    bad_schema["data"]["status"] = "exploded"
    # None: a record with no value at all (a tombstone).
    _consume_a_registration_after(settings, db, [b"{not json", None, json.dumps(bad_schema).encode()])
    dead = _read_all(settings, topic + ".dlq")
    assert len(dead) == 3
    reasons = [dict(message.headers)["error"].decode() for message in dead]
    assert sum("not JSON" in reason for reason in reasons) == 2
    assert any("status" in reason for reason in reasons)
    assert all(dict(m.headers)["original_topic"].decode() == topic for m in dead)


def test_an_event_of_a_type_the_consumer_does_not_act_on_is_skipped_unchecked_and_not_dead_lettered(settings, db):
    topic = settings.topic("listing")
    malformed = new_event(
        "stint.org.registered.v1", "listing", "other", {"org_id": "o", "name": "O", "status": "pending"}
    )
    malformed["type"] = "stint.org.verified.v1"  # a registration's data under another type: its consumers refuse it
    malformed["data"]["status"] = "exploded"
    org_id = _consume_a_registration_after(settings, db, [json.dumps(malformed).encode()])
    assert effect_counts(db)[org_id] == 1
    assert _read_all(settings, topic + ".dlq") == []


def _consume_a_registration_after(settings, db, values: list) -> str:
    """Put `values` on the listing topic as they are, then a good organisation's registration; consume (handling
    registrations only) until the registration took effect; the organisation's id."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for value in values:
        producer.send(settings.topic("listing"), key=b"same", value=value)
    producer.flush()
    producer.close()
    org_id = register_org(db, "Good")
    publish_pending(settings, [db.orgs])
    consumer = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": counting_handler(db)})
    try:
        consume_until(consumer, lambda: org_id in effect_counts(db))
    finally:
        consumer.close()
    return org_id


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(settings, db):
    org_id = register_org(db, "Flaky")
    publish_pending(settings, [db.orgs])
    attempts = []

    def always_fails(event):
        attempts.append(event["id"])
        raise ValueError("cannot handle this one")

    consumer = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": always_fails})
    try:
        consume_until(consumer, lambda: len(_read_all(settings, settings.topic("listing") + ".dlq", 2)) == 1)
    finally:
        consumer.close()
    assert len(attempts) == consumer.max_attempts
    [dead] = _read_all(settings, settings.topic("listing") + ".dlq")
    assert dict(dead.headers)["error"].decode() == "cannot handle this one"
    assert dict(dead.headers)["attempts"].decode() == str(consumer.max_attempts)
    assert db.handled_events.count_documents({"subject": org_id}) == 0


def test_two_consumers_in_one_group_split_the_partitions_and_handle_every_event_once(settings, db):
    handled_by = {"a": 0, "b": 0}
    lock = threading.Lock()

    def handler_for(name):
        count = counting_handler(db)

        def handle(event):
            with lock:
                handled_by[name] += 1
            return count(event)

        return handle

    a = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": handler_for("a")})
    b = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": handler_for("b")})
    stop = threading.Event()
    threads = [threading.Thread(target=c.run_forever, args=(stop,)) for c in (a, b)]
    for thread in threads:
        thread.start()
    try:
        _wait_for_members(settings, a.group_id, 2)
        org_ids = [register_org(db, f"Org {i}") for i in range(60)]
        publish_pending(settings, [db.orgs])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(effect_counts(db)) < 60:
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert effect_counts(db) == {org_id: 1 for org_id in org_ids}
    assert handled_by["a"] > 0 and handled_by["b"] > 0, handled_by


def _wait_for_members(settings, group_id: str, count: int, timeout: float = 60) -> None:
    """Wait until the group is stable with `count` members that each own partitions."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            group = admin.describe_groups([group_id])[group_id]
            owning = [m for m in group["members"] if (m.get("member_assignment") or {}).get("assigned_partitions")]
            if group["group_state"] == "Stable" and len(owning) == count:
                return
            time.sleep(0.3)
    finally:
        admin.close()
    raise AssertionError(f"group {group_id} never had {count} members with partitions")


def _read_all(settings, topic: str, timeout_seconds: float = 5):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout_seconds * 1000),
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def _messages_on(settings, topic: str) -> int:
    return len(_read_all(settings, topic))


def test_concurrent_writers_and_a_running_relay_lose_no_write_and_no_event(settings, db):
    org_id = register_org(db, "Busy")
    stop = threading.Event()
    relay = relay_for(settings, [db.orgs])
    relay_thread = threading.Thread(target=relay.run_forever, args=(stop,), kwargs={"idle_seconds": 0.01})
    relay_thread.start()

    def rename(n: int) -> None:
        event = new_event(
            "stint.org.registered.v1", "listing", org_id, {"org_id": org_id, "name": f"Busy {n}", "status": "pending"}
        )
        update_with_events(db.orgs, {"_id": org_id}, {"$addToSet": {"names": n}}, [event])

    threads = [threading.Thread(target=rename, args=(n,)) for n in range(20)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 30
        while db.orgs.find_one({"_id": org_id})["outbox_pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        relay_thread.join(timeout=30)
    assert sorted(db.orgs.find_one({"_id": org_id})["names"]) == list(range(20))
    consumer = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": counting_handler(db)})
    try:
        consume_until(consumer, lambda: _lag_is_zero(consumer))
    finally:
        consumer.close()
    assert db.handled_events.count_documents({"subject": org_id}) == 21  # the registration and 20 renames


def test_a_relay_reading_pointers_publishes_what_the_helpers_stored_and_its_sweep_the_rest(settings, db):
    left_unpointed = register_org(db, "Written directly")  # an insert that did not point the relay at it
    pointed = register_org(db, "Written through the helpers")
    db.orgs.delete_one({"_id": pointed})
    insert_aggregate(db.orgs, _org_document(pointed, "Written through the helpers"))
    relay = relay_for(settings, [db.orgs])
    relay.pointed = {"orgs"}
    try:
        assert relay.run_once(sweep=False) == 1  # only the pointed one, found without a scan
        data = {"org_id": pointed, "name": "Renamed", "status": "pending"}
        rename = new_event("stint.org.registered.v1", "listing", pointed, data)
        update_with_events(db.orgs, {"_id": pointed}, {"$set": {"name": "Renamed"}}, [rename])
        assert relay.run_once(sweep=False) == 1
        assert relay.run_once(sweep=False) == 0
        assert db.orgs.find_one({"_id": left_unpointed})["outbox_pending"] is True
        assert relay.run_once(sweep=True) == 1  # the safety net
    finally:
        relay.close()
    assert db.outbox_pointers.count_documents({}) == 0
    assert not db.orgs.find_one({"_id": left_unpointed})["outbox_pending"]


def _org_document(org_id: str, name: str) -> dict:
    data = {"org_id": org_id, "name": name, "status": "pending"}
    event = new_event("stint.org.registered.v1", "listing", org_id, data)
    return new_document_with_events({"_id": org_id, "name": name, "status": "pending"}, [event])


def test_writers_racing_on_one_version_make_exactly_one_change(db):
    org_id = register_org(db, "Raced")
    db.orgs.update_one({"_id": org_id}, {"$set": {"version": 1}})
    outcomes = []

    def change_from_version_1(n: int) -> None:
        guard = {"_id": org_id, "version": 1}
        outcomes.append(update_with_events(db.orgs, guard, {"$set": {"version": 2, "by": n}}, []).matched_count)

    threads = [threading.Thread(target=change_from_version_1, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [0] * 7 + [1]
    assert db.orgs.find_one({"_id": org_id})["version"] == 2


def test_a_document_left_locked_by_a_dead_process_is_waited_for_not_dead_lettered(settings, db):
    org_id = register_org(db, "Locked")
    publish_pending(settings, [db.orgs])
    busy_left = [5]  # more times than the consumer retries a failing handler (3)
    count = counting_handler(db)

    def blocked_twice(event):
        if busy_left[0]:
            busy_left[0] -= 1
            raise DocumentBusy("held by a process that died")
        return count(event)

    consumer = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": blocked_twice})
    try:
        deadline = time.monotonic() + 60
        while org_id not in effect_counts(db) and time.monotonic() < deadline:
            with contextlib.suppress(InfrastructureDown):  # run_forever backs off and polls again
                consumer.poll_once()
    finally:
        consumer.close()
    assert effect_counts(db) == {org_id: 1}
    assert _read_all(settings, settings.topic("listing") + ".dlq", 2) == []


def test_a_lock_not_given_back_while_the_database_was_away_is_given_back_on_the_next_lock(db, monkeypatch):
    """The database goes away between a write and its lock's delete: the same process deletes the lock when it next
    takes one, instead of leaving the document busy (503 document_busy) for STALE_LOCK_SECONDS."""
    from pymongo.collection import Collection
    from pymongo.errors import AutoReconnect

    from shared import locks
    from shared.locks import LOCKS, document_lock

    # This process's notes start empty: an earlier test's (a client closed since) must not decide this one.
    monkeypatch.setattr(locks, "_unreleased", [])
    monkeypatch.setattr(locks, "_retry_give_back_at", 0.0)
    org_id = register_org(db, "Released late")
    real_delete = Collection.delete_one

    def database_away(self, query, *args, **kwargs):  # for this lock's delete only: other threads go on
        if query.get("_id") == f"orgs/{org_id}":
            raise AutoReconnect("connection closed")
        return real_delete(self, query, *args, **kwargs)

    monkeypatch.setattr(Collection, "delete_one", database_away)
    with document_lock(db.orgs, org_id):  # the write succeeds; giving the lock back does not
        db.orgs.update_one({"_id": org_id}, {"$set": {"name": "Renamed"}})
    monkeypatch.setattr(Collection, "delete_one", real_delete)
    assert db[LOCKS].count_documents({"_id": f"orgs/{org_id}"}) == 1  # left behind, as a dead process's would be

    with document_lock(db.orgs, "another-document", wait_seconds=0):
        pass
    with document_lock(db.orgs, org_id, wait_seconds=0):  # free at once, not after 30 s
        pass
    assert db[LOCKS].count_documents({}) == 0


# ---- a batch handler: runs of neighbouring events handled at once ---------------------------------------------

REGISTERED = "stint.org.registered.v1"


def _registered_orgs(settings, db, count: int) -> set[str]:
    org_ids = {register_org(db, f"Batch {n}") for n in range(count)}
    publish_pending(settings, [db.orgs])
    return org_ids


def _handled_ids(db) -> set[str]:
    return {note["subject"] for note in db.handled_events.find({"type": REGISTERED}, {"subject": 1})}


def test_a_run_of_events_goes_to_the_batch_handler_at_once_and_each_takes_effect_once(settings, db):
    org_ids = _registered_orgs(settings, db, 30)
    runs = []
    count = counting_handler(db)

    def batch(events):
        runs.append(len(events))
        return [count(event) for event in events]

    consumer = consumer_for(
        settings, db, ["listing"], {REGISTERED: count}, batch_handler=batch, batched_types=frozenset({REGISTERED})
    )
    try:
        consume_until(consumer, lambda: set(effect_counts(db)) >= org_ids)
    finally:
        consumer.close()
    assert effect_counts(db) == dict.fromkeys(org_ids, 1)
    assert sum(runs) == 30 and max(runs) > 1  # 3 partitions: at most a few runs, not 30 calls
    assert _handled_ids(db) == org_ids


def test_an_event_alone_in_its_poll_goes_to_the_batch_handler_too(settings, db):
    (org_id,) = _registered_orgs(settings, db, 1)
    runs, singles = [], []
    count = counting_handler(db)

    def single(event):
        singles.append(event.subject)
        return count(event)

    def batch(events):
        runs.append([event.subject for event in events])
        return [count(event) for event in events]

    consumer = consumer_for(
        settings, db, ["listing"], {REGISTERED: single}, batch_handler=batch, batched_types=frozenset({REGISTERED})
    )
    try:
        consume_until(consumer, lambda: org_id in effect_counts(db))
    finally:
        consumer.close()
    assert runs == [[org_id]] and singles == []  # one path for the type, however many events a poll brings
    assert effect_counts(db) == {org_id: 1} and _handled_ids(db) == {org_id}


def test_a_batch_that_fails_on_a_bad_event_is_handled_one_event_at_a_time(settings, db):
    org_ids = _registered_orgs(settings, db, 12)
    bad = sorted(org_ids)[0]

    def single(event):  # idempotent per event, as a batch handler must be: a run redone one by one stores nothing twice
        if event.subject == bad:
            raise ValueError("cannot tell anyone about this one")
        db.effects.update_one({"_id": event.subject}, {"$set": {"event": event.id}}, upsert=True)
        return "told"

    def batch(events):
        return [single(event) for event in events]  # fails part way: the events before the bad one took effect

    consumer = consumer_for(
        settings, db, ["listing"], {REGISTERED: single}, batch_handler=batch, batched_types=frozenset({REGISTERED})
    )
    try:
        consume_until(consumer, lambda: _handled_ids(db) >= org_ids - {bad})
    finally:
        consumer.close()
    assert {effect["_id"] for effect in db.effects.find()} == org_ids - {bad}
    assert _handled_ids(db) == org_ids - {bad}
    dead = _read_all(settings, settings.topic("listing") + ".dlq", 2)
    assert [json.loads(message.value)["subject"] for message in dead] == [bad]


def test_a_batch_cut_short_by_the_database_is_redone_and_loses_nothing(settings, db):
    from pymongo.errors import AutoReconnect

    org_ids = _registered_orgs(settings, db, 20)
    outages = [1]

    def told(events):  # idempotent per event, as a batch handler must be: a redone run stores nothing twice
        for event in events:
            db.effects.update_one({"_id": event.subject}, {"$set": {"event": event.id}}, upsert=True)
            if outages[0] and db.effects.count_documents({}) == 5:
                outages[0] = 0
                raise AutoReconnect("the database went away mid-run")
        return ["told"] * len(events)

    consumer = consumer_for(
        settings,
        db,
        ["listing"],
        {REGISTERED: lambda e: told([e])[0]},
        batch_handler=told,
        batched_types=frozenset({REGISTERED}),
    )
    try:
        deadline = time.monotonic() + 60
        while _handled_ids(db) != org_ids and time.monotonic() < deadline:
            with contextlib.suppress(InfrastructureDown):
                consumer.poll_once()
    finally:
        consumer.close()
    assert outages == [0]
    assert _handled_ids(db) == org_ids
    assert {effect["_id"] for effect in db.effects.find()} == org_ids
