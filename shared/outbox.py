"""Transactional outbox without multi-document transactions.

A state change and the events it causes are one write: the pending events ride in the
aggregate's own document (`outbox` array, `outbox_pending` flag). The relay leases documents
with pending events, publishes them in order (idempotent producer, acks=all) and then pulls
them out. A relay that dies between publish and pull publishes them again; consumers
deduplicate by event id, so the effect still happens once.

Every write to an aggregate document holds its `document_lock` (shared/locks.py explains why),
the relay's `$pullAll` included. The relay's lease is a separate document, so publishing (which
may wait on a dead broker) never blocks the API's writes.

Finding the pending documents: FerretDB 1.24 answers `{outbox_pending: true}` by reading and parsing every
document of the collection. So a write that stores events also inserts a pointer (`outbox_pointers`,
`<collection>/<id>`; `insert_aggregate` and the `*_with_events` helpers do it, under the document's lock for
updates), the relay of a collection named `pointed` reads those instead, and deletes a pointer under the same lock
once the document has nothing left to publish. It still scans when it starts and every SWEEP_SECONDS (5 min), for
a writer that died between its write and its pointer and for writes made outside these helpers.

Publish on write (shared/publisher.py): in a process that enabled it, the helpers also hand each document whose events
they stored to that process's publisher, which publishes them at once in the background, as the relay would
(`publish_documents` under the same `outbox` leases), so nothing waits for the next relay poll. The relay stays as the
safety net for what the writer did not publish: it leaves pointers younger than its grace period to the writer.

The outbox leases live beside the pointers (same collection, keys `outbox:<collection>/<id>`), so a writer whose
publisher can take the document now inserts the pointer and the lease with one insert, while the document's whole
outbox is known (under its lock, or before a new document is inserted), and hands both to the publisher: it then
publishes without a lease or a read of its own, and deletes the pointer and the lease with one delete. A writer that
finds the lease held (the relay, or another process, is publishing the document) hands the document over without
it, and the publisher leases and reads it as the relay does.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from kafka import KafkaProducer
from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.results import UpdateResult

from shared import metrics
from shared.events import encode_event, topic_for
from shared.locks import (
    HeldKeys,
    document_lock,
    give_back,
    held_filter,
    insert_with_leases,
    lease_key,
    take_leases,
    take_locks,
)
from shared.mongo import insert_new

log = structlog.get_logger(__name__)

OUTBOX_FIELD = "outbox"
PENDING_FIELD = "outbox_pending"
LEASE_SECONDS = 30
# The pointers at documents with events waiting, and the outbox leases of the documents being published.
POINTERS = "outbox_pointers"
LEASE_PURPOSE = "outbox"
# How often a relay that reads pointers still scans for pending documents (and once when it starts): the safety net
# for a writer that died in the moment between storing its events and pointing at them, and for writes made outside
# this module's helpers (there are none in the services). Rare, because on FerretDB a scan reads and parses every
# document of the collection: at 100,000 credentials a few seconds of the database's time, which every 5 s (as
# before) left little for anything else. Such events wait up to this long; none are lost.
SWEEP_SECONDS = 300.0


@dataclass(frozen=True)
class Handed:
    """A document handed to its writer's publisher with its outbox lease, taken in the write: its whole outbox as
    stored then (so the publisher reads nothing) and the lease (so no one else publishes it meanwhile)."""

    outbox: list[dict]
    lease: HeldKeys


class Publisher(Protocol):
    """What publishes, in the background, the documents a process has just stored events in (shared/publisher.py)."""

    def ready(self) -> bool:
        """True when a document handed over now would be published at once (so taking its lease is worth it)."""

    def hand_over(self, collection: Collection, document_id, attempt: int = 0, handed: Handed | None = None) -> None:
        """Publish the document's events soon; returns at once and never raises."""


# Publish on write: a database's name -> the publisher of the events just stored in it (shared/publisher.py).
_PUBLISH_ON_WRITE: dict[str, Publisher] = {}


def with_events(update: dict, events: list[dict]) -> dict:
    """Add `events` (made by shared.events.new_event, which checked them) to an update, stored in the same write."""
    merged = {op: dict(spec) for op, spec in update.items()}
    if events:
        merged.setdefault("$push", {})[OUTBOX_FIELD] = {"$each": list(events)}
        merged.setdefault("$set", {})[PENDING_FIELD] = True
    return merged


def new_document_with_events(document: dict, events: list[dict]) -> dict:
    """A new aggregate document carrying its first events (made by new_event, which checked them)."""
    return {**document, OUTBOX_FIELD: list(events), PENDING_FIELD: bool(events)}


def insert_aggregate(collection: Collection, document: dict) -> None:
    """Insert a new aggregate document (from new_document_with_events) and point the relays at its events
    (DuplicateKeyError when a document with its `_id` or unique keys is stored already)."""
    if document["_id"] not in insert_aggregates(collection, [document]):
        raise DuplicateKeyError(f"{collection.name}: a document with its _id or unique keys is stored already")


def insert_aggregates(collection: Collection, documents: list[dict]) -> set:
    """Insert new aggregate documents with one insert and point the relays at their events; the ids stored (one a
    unique index refused is left out, for the caller to take up alone)."""
    outboxes = {document["_id"]: document[OUTBOX_FIELD] for document in documents if document.get(PENDING_FIELD)}
    pointed, handed = _lease_new(collection, outboxes)
    try:
        stored = set(insert_new(collection, documents))
    except PyMongoError:
        give_back(*(h.lease for h in handed.values()))
        raise
    _unpoint(collection, [document_id for document_id in outboxes if document_id not in stored], pointed, handed)
    unpointed = [document_id for document_id in outboxes if document_id in stored and document_id not in pointed]
    insert_new(collection.database[POINTERS], [_pointer(collection, document_id) for document_id in unpointed])
    for document_id in outboxes:
        if document_id in stored:
            _hand_over(collection, document_id, handed.get(document_id))
    return stored


def _lease_new(collection: Collection, outboxes: dict) -> tuple[list, dict]:
    """Before new documents are inserted, when this process publishes on write: their pointers and outbox leases
    with one insert (the ids pointed at, and those handed with their lease). Before, not after: once a document is
    stored, a relay's sweep could publish it before the writer's lease was taken, and the writer would then publish
    what it was handed a second time. The caller unpoints what it did not store after all."""
    publisher = _PUBLISH_ON_WRITE.get(collection.database.name)
    if not outboxes or publisher is None or not publisher.ready():
        return [], {}
    return _point_and_lease(collection, outboxes)


def _point_and_lease(collection: Collection, outboxes: dict) -> tuple[list, dict]:
    """Insert the documents' pointers and outbox leases with one insert: the ids whose pointer this stored, and
    those whose lease it took, handed (a lease someone else holds is left to them: the document is then handed over
    without it)."""
    pointers = [_pointer(collection, document_id) for document_id in outboxes]
    keys = {document_id: lease_key(collection, document_id, LEASE_PURPOSE) for document_id in outboxes}
    pointed, leases = insert_with_leases(collection.database[POINTERS], pointers, keys)
    handed = {
        document_id: Handed(outboxes[document_id], HeldKeys(leases.keys, {document_id: key}, leases.token))
        for document_id, key in leases.key_by_id.items()
    }
    by_pointer = {_pointer_id(collection, document_id): document_id for document_id in outboxes}
    return [by_pointer[pointer_id] for pointer_id in pointed], handed


def _unpoint(collection: Collection, not_stored: list, pointed: list, handed: dict) -> None:
    """For new documents not stored after all: delete the pointers this writer stored for them and give back the
    leases it took for them."""
    _forget_pointers(collection, [i for i in not_stored if i in pointed], [h.lease for h in handed.values()])
    give_back(*(handed[i].lease for i in not_stored if i in handed))  # any whose pointer was there before


def publish_on_write(database_name: str, publisher: Publisher | None) -> None:
    """Have `publisher` publish the events of each event-carrying write to that database (None: stop).

    Its hand_over must not block or raise: the write is stored, and the caller's answer must not wait for the broker.
    """
    if publisher is None:
        _PUBLISH_ON_WRITE.pop(database_name, None)
    else:
        _PUBLISH_ON_WRITE[database_name] = publisher


def _hand_over(collection: Collection, document_id, handed: Handed | None = None) -> None:
    """Hand a document whose events were just stored (and pointed at) to this process's publisher, if any."""
    publisher = _PUBLISH_ON_WRITE.get(collection.database.name)
    if publisher is not None:
        publisher.hand_over(collection, document_id, handed=handed)
    elif handed is not None:
        give_back(handed.lease)


def _point_after_write(collection: Collection, document_id, outbox: list | None) -> Handed | None:
    """Under the document's lock, right after its events were stored: point the relays at it and, when its whole
    outbox is known and this process publishes on write, take its outbox lease in the same insert (handed)."""
    publisher = _PUBLISH_ON_WRITE.get(collection.database.name)
    if outbox is None or publisher is None or not publisher.ready():
        point_to(collection, document_id)
        return None
    _, handed = _point_and_lease(collection, {document_id: outbox})
    return handed.get(document_id)


def point_to(collection: Collection, document_id) -> None:
    """Tell the relays that a document has events waiting (a no-op when they were told already).

    A relay then reads the small `outbox_pointers` collection instead of scanning the aggregates for
    `outbox_pending` (FerretDB scans and parses every document for that); see Relay.run_forever.
    """
    with contextlib.suppress(DuplicateKeyError):
        collection.database[POINTERS].insert_one(_pointer(collection, document_id))


def _pointer(collection: Collection, document_id) -> dict:
    return {
        "_id": _pointer_id(collection, document_id),
        "collection": collection.name,
        "document_id": document_id,
        "at": datetime.now(UTC),  # a relay with a grace period leaves younger pointers to the writer
    }


def _pointer_id(collection: Collection, document_id) -> str:
    return f"{collection.name}/{document_id}"


def ensure_outbox_index(collection: Collection) -> None:
    """The relay finds pending documents through this index."""
    collection.create_index([(PENDING_FIELD, ASCENDING)], name="outbox_pending")


def update_with_events(collection: Collection, query: dict, update: dict, events: list[dict], **kwargs):
    """update_one of an aggregate (its `_id` in `query`) and its events, under the document's lock."""
    with holding(collection, query["_id"]) as held:
        if not _guard_holds(collection, query, kwargs):
            return UpdateResult({"n": 0, "nModified": 0, "ok": 1}, acknowledged=True)
        return held.update_one(update, events, query=_write_filter(query, kwargs), **kwargs)


def find_one_and_update_with_events(collection: Collection, query: dict, update: dict, events: list[dict], **kwargs):
    """find_one_and_update of an aggregate (its `_id` in `query`) and its events, under the document's lock."""
    with holding(collection, query["_id"]) as held:
        if not _guard_holds(collection, query, kwargs):
            return None
        return held.find_one_and_update(update, events, query=_write_filter(query, kwargs), **kwargs)


class HeldDocument:
    """An aggregate document whose lock this writer holds (`holding`): what it read under the lock is what it
    changes, so its write needs no guard and nothing is read again to check one. One write with events a hold."""

    def __init__(self, collection: Collection, document_id):
        self.collection = collection
        self.document_id = document_id
        self.stored = False  # events were stored: handed to the publisher once the lock is given back
        self.handed: Handed | None = None

    def find_one(self, projection: dict | None = None) -> dict | None:
        """The document as stored (read by `_id`)."""
        return self.collection.find_one({"_id": self.document_id}, projection)

    def find_one_and_update(self, update: dict, events: list[dict], query: dict | None = None, **kwargs):
        """find_one_and_update of the document (by `_id`, or by `query` naming it) and its events."""
        self._one_write(events)
        query = {"_id": self.document_id} if query is None else query
        result = self.collection.find_one_and_update(query, with_events(update, events), **kwargs)
        if events and (result is not None or kwargs.get("upsert")):
            self._point(_outbox_after(result, events, kwargs))
        return result

    def update_one(self, update: dict, events: list[dict], query: dict | None = None, **kwargs) -> UpdateResult:
        """update_one of the document (by `_id`, or by `query` naming it) and its events (its outbox after is not
        known: the publisher reads it)."""
        self._one_write(events)
        query = {"_id": self.document_id} if query is None else query
        result = self.collection.update_one(query, with_events(update, events), **kwargs)
        if events and (result.matched_count or result.upserted_id is not None):
            self._point(None)
        return result

    def _one_write(self, events: list[dict]) -> None:
        if self.stored and events:
            raise RuntimeError("one write with events a hold: its outbox is handed to the publisher as one")

    def _point(self, outbox: list | None) -> None:
        """Events were stored: point the relays at the document (and take its outbox lease when `outbox` is its
        whole outbox); handed to the publisher once the lock is given back."""
        self.stored = True
        self.handed = _point_after_write(self.collection, self.document_id, outbox)


@contextlib.contextmanager
def holding(collection: Collection, document_id):
    """Hold an aggregate document's lock for a read, a decision and a write (HeldDocument): the reader decides on the
    document as stored, and no other writer changes it meanwhile. Its events are handed to the publisher after the
    lock is given back (the publisher takes it again to mark them sent); DocumentBusy (503) when it stays taken."""
    held = HeldDocument(collection, document_id)
    try:
        with document_lock(collection, document_id):
            yield held
    finally:  # also when the caller failed after its write: what it stored is published
        if held.stored:
            _hand_over(collection, document_id, held.handed)


def _outbox_after(result: dict | None, events: list[dict], kwargs: dict) -> list | None:
    """The document's whole outbox after a find_one_and_update that pushed `events` (under the lock, so exact): as
    returned, or as it was plus what was pushed (None, not known, when a projection may have left it out)."""
    if kwargs.get("projection") is not None:
        return None
    if kwargs.get("return_document") == ReturnDocument.AFTER:
        return None if result is None else list(result.get(OUTBOX_FIELD) or [])
    return [*((result or {}).get(OUTBOX_FIELD) or []), *events]


# FerretDB 1.24 pushes down to SQLite only a filter that is exactly {_id: ...}; `{_id, version}` is matched in Go over
# the whole collection. Under the document's lock no other writer can change the document (every write holds it),
# so a plain equality guard is checked on the document read by `_id`, and the write is then by `_id` alone.


def _plain_guard(query: dict, kwargs: dict) -> dict | None:
    """The conditions of `query` besides `_id` when all are top-level equalities to scalars (None otherwise)."""
    guard = {name: value for name, value in query.items() if name != "_id"}
    plain = not kwargs.get("upsert") and all(
        not name.startswith("$") and "." not in name and isinstance(value, (str, int, float, bool))
        for name, value in guard.items()
    )
    return guard if plain else None


def _guard_holds(collection: Collection, query: dict, kwargs: dict) -> bool:
    """False only when a plain guard is known not to hold for the stored document (read by `_id`)."""
    guard = _plain_guard(query, kwargs)
    if not guard:
        return True  # no guard, or one left to the server's filter
    stored = collection.find_one({"_id": query["_id"]}, dict.fromkeys(guard, 1))
    return stored is not None and all(_same(stored.get(name), value) for name, value in guard.items())


def _same(stored, wanted) -> bool:
    """Equality as a MongoDB filter means it for the scalars guards hold (True is not 1, 2 is 2.0)."""
    return type(stored) is type(wanted) and stored == wanted if isinstance(wanted, bool) else stored == wanted


def _write_filter(query: dict, kwargs: dict) -> dict:
    """`{_id}` alone when the guard was checked above; the whole query when it is the server's to check."""
    return {"_id": query["_id"]} if _plain_guard(query, kwargs) is not None else query


def make_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    """An idempotent, acks=all producer that sends at once (its callers wait for each document's acks anyway)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=0,
        retries=2**31 - 1,
        max_in_flight_requests_per_connection=5,
        request_timeout_ms=15000,
        delivery_timeout_ms=30000,
        max_block_ms=10000,
    )


def publish_documents(
    producer: KafkaProducer,
    topic_prefix: str,
    collection: Collection,
    document_ids: list,
    after_publish=None,
    by="relay",
    outboxes: dict | None = None,
    leases: list[HeldKeys] = (),
) -> tuple[int, list]:
    """Publish the waiting events of several documents, each document's in the order stored, and mark them sent:
    (how many, the ids that have events left: pushed while these were being published).

    The caller holds the documents' `outbox` leases (relay and publisher alike; take_leases), so one process at a
    time publishes a document; `leases` are those of them to give back with the pointers of the documents finished
    (one delete for both; the caller gives back the rest). `outboxes` are documents' whole outboxes as their writer
    stored them, under the lease it took in the write: those are not read again. The documents share the round
    trips that need not be one each: the broker's acknowledgements are awaited once for all, their locks are taken
    with one insert and given back with one delete, their pointers and leases deleted with one; each document costs
    one write of its own (and a read, unless its outbox was handed over).
    """
    outboxes = outboxes or {}
    documents = {
        document_id: {"_id": document_id, OUTBOX_FIELD: outboxes[document_id]}
        if document_id in outboxes
        else collection.find_one({"_id": document_id}, {OUTBOX_FIELD: 1}) or {}
        for document_id in document_ids
    }
    sent = {document_id: document.get(OUTBOX_FIELD) or [] for document_id, document in documents.items()}
    futures = [
        producer.send(topic_prefix + topic_for(e["type"]), key=e["subject"].encode(), value=encode_event(e))
        for events in sent.values()
        for e in events
    ]
    for future in futures:
        future.get(timeout=30)  # raises when the broker refused the write
    if after_publish:
        for document_id, events in sent.items():
            after_publish(documents[document_id], events)
    locks = take_locks(collection, list(sent))
    try:
        done = [document_id for document_id in locks.ids if _mark_sent(collection, document_id, sent[document_id])]
        _forget_pointers(collection, done, leases)  # under the locks: a writer adding events now points again after
    finally:
        give_back(locks)
    for document_id in sent.keys() - set(locks.ids):  # another writer had it: wait for it, one at a time
        with document_lock(collection, document_id):
            if _mark_sent(collection, document_id, sent[document_id]):
                _forget_pointers(collection, [document_id], leases)
                done.append(document_id)
    count = 0
    for events in sent.values():
        count += len(events)
        for event in events:
            metrics.EVENTS_PUBLISHED.labels(type=event["type"]).inc()
            log.info("event_published", event_id=event["id"], event_type=event["type"], subject=event["subject"], by=by)
    finished = set(done)
    return count, [document_id for document_id in sent if document_id not in finished]


def _mark_sent(collection: Collection, document_id, events: list[dict]) -> bool:
    """Pull the published events out of a document held under its lock; True when it has none left.

    $pullAll of the exact documents read: FerretDB 1.24 ignores $pull with a condition. The flag is cleared in the same
    write and set again in the rare case that events were pushed meanwhile (only a lock holder sees it cleared; a
    filter on `outbox` would make FerretDB scan the collection).
    """
    update: dict = {"$set": {PENDING_FIELD: False}}
    if events:
        update["$pullAll"] = {OUTBOX_FIELD: events}
    # The whole document comes back: FerretDB 1.24's findAndModify refuses a projection.
    after = collection.find_one_and_update({"_id": document_id}, update, return_document=ReturnDocument.AFTER)
    if after is not None and after.get(OUTBOX_FIELD):
        collection.update_one({"_id": document_id}, {"$set": {PENDING_FIELD: True}})
        return False
    return True


def take_outbox_leases(collection: Collection, document_ids: list) -> HeldKeys:
    """Lease documents for publishing, with one insert, without waiting (kept beside the pointers); those another
    process holds are left out."""
    return take_leases(collection, document_ids, LEASE_SECONDS, LEASE_PURPOSE, keys=collection.database[POINTERS])


def _forget_pointers(collection: Collection, document_ids: list, leases: list[HeldKeys] = ()) -> None:
    """Delete the pointers of documents with nothing left to publish, and give back their outbox leases among
    `leases`, with one delete (the pointers collection holds only what is waiting or being published, so the
    filter reads few documents even where FerretDB scans)."""
    if not document_ids:
        return
    query: dict = {"_id": {"$in": [_pointer_id(collection, document_id) for document_id in document_ids]}}
    given = [(held, document_id) for held in leases for document_id in document_ids if document_id in held.key_by_id]
    if given:
        keys = [held.key_by_id[document_id] for held, document_id in given]
        query = {"$or": [query, held_filter(keys, [held.token for held, _ in given])]}
    collection.database[POINTERS].delete_many(query)
    for held, document_id in given:  # given back: the caller's give_back leaves them out
        del held.key_by_id[document_id]


class Relay:
    """Publishes the events waiting in the given collections and marks them sent."""

    def __init__(
        self,
        collections: list[Collection],
        producer_factory,
        batch_size: int = 100,
        topic_prefix: str = "",
        pointed: tuple[str, ...] = (),
        grace_seconds: float = 0.0,
    ):
        self.collections = collections
        # Collections every event-carrying write of which points at its document (insert_aggregate and the
        # *_with_events helpers): between sweeps the relay reads their pointers instead of scanning them.
        self.pointed = set(pointed)
        # With publish on write, pointers younger than this are the writer's to publish (shared/publisher.py); the
        # lease would keep the two apart anyway, the grace only spares them racing for it.
        self.grace_seconds = grace_seconds
        self.topic_prefix = topic_prefix
        self._producer_factory = producer_factory
        self._producer = None
        self.batch_size = batch_size
        # Test hook: called after publishing and before marking sent, to simulate a crash there.
        self.after_publish = None

    @property
    def producer(self) -> KafkaProducer:
        """The Kafka producer, created on first use (the broker may be down at start)."""
        if self._producer is None:
            self._producer = self._producer_factory()
        return self._producer

    def run_once(self, sweep: bool = True) -> int:
        """Publish what is pending now (found by a scan, or from the pointers when not `sweep`); the count."""
        published = 0
        for collection in self.collections:
            waiting = self._waiting(collection, sweep)
            if not waiting:
                continue
            # Those leased by another relay, or by their writer, are left out: it is publishing them.
            leases = take_outbox_leases(collection, waiting)
            try:
                published += publish_documents(
                    self.producer,
                    self.topic_prefix,
                    collection,
                    leases.ids,
                    after_publish=self.after_publish,
                    leases=[leases],
                )[0]
            finally:
                give_back(leases)
        return published

    def _waiting(self, collection: Collection, sweep: bool) -> list:
        """Ids of documents with events waiting: from the pointers of a pointed collection between sweeps."""
        pointers = collection.database[POINTERS]
        older = datetime.now(UTC) - timedelta(seconds=self.grace_seconds)
        if sweep or collection.name not in self.pointed:
            pending = collection.find({PENDING_FIELD: True}, {"_id": 1}).limit(self.batch_size)
            if not self.grace_seconds:
                return [d["_id"] for d in pending]
            young = {"collection": collection.name, "at": {"$gte": older}}  # their writers are publishing them
            in_flight = {pointer["document_id"] for pointer in pointers.find(young, {"document_id": 1})}
            return [d["_id"] for d in pending if d["_id"] not in in_flight]
        query: dict = {"collection": collection.name}
        if self.grace_seconds:
            query["$or"] = [{"at": {"$lt": older}}, {"at": {"$exists": False}}]
        return [pointer["document_id"] for pointer in pointers.find(query).limit(self.batch_size)]

    def close(self) -> None:
        """Flush and close the producer."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            finally:
                self._producer = None

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.2, max_backoff: float = 5.0) -> None:
        """Relay until `stop` is set; back off while the broker or database is down."""
        backoff, next_sweep = idle_seconds, 0.0
        while not stop.is_set():
            try:
                sweep = time.monotonic() >= next_sweep
                published = self.run_once(sweep=sweep)
                backoff = idle_seconds
                if sweep and not published:  # a sweep that found work is repeated until it finds none
                    next_sweep = time.monotonic() + SWEEP_SECONDS
                if not published:
                    stop.wait(idle_seconds)
            except PyMongoError as exc:
                log.warning("relay_database_error", error=str(exc)[:300])
                stop.wait(backoff)
                backoff = min(max_backoff, backoff * 2)
            except Exception as exc:  # broker down or refusing: keep the events, retry later
                log.warning("relay_publish_failed", error=repr(exc)[:300])
                self.close()
                stop.wait(backoff)
                backoff = min(max_backoff, backoff * 2)
        self.close()


def relay_until_empty(relay: Relay, timeout: float = 30.0) -> int:
    """Publish until nothing is pending (tests and one-shot tools)."""
    deadline = time.monotonic() + timeout
    total = 0
    while time.monotonic() < deadline:
        published = relay.run_once()
        total += published
        if not published:
            return total
    raise TimeoutError("outbox still had pending events")
