"""Publish on write: the process that stores events publishes them at once, the relay staying as the safety net.

After `shared.outbox`'s helpers store a document with events (and point at it), they hand the document to this
process's `WritePublisher`, which returns at once: the HTTP answer or the consumer's commit never waits for the
broker. Mostly the writer has taken the document's `outbox` lease in its write and hands over the outbox it stored
(`shared.outbox.Handed`, when `ready()`); otherwise the publisher takes the lease and reads the outbox itself. A few
background threads then do what the relay does (`shared.outbox.publish_documents`): publish the waiting events in
order (idempotent producer, acks=all), and once the broker has acknowledged them pull them out of the document under
its lock and delete its pointer and lease. Documents handed over while a thread was busy go out together
(`BATCH_SIZE`): their locks, pointers and leases cost one round trip for all and their acknowledgements are awaited
once, so under load a document's publication costs about one round trip of its own (its `findAndModify`).

Why the lease, not only a grace period: the writer publishes under the very lease the relay takes, so the two never
publish one document at the same time (no double in the normal path), and the whole outbox goes out in the order it
was stored even when two processes wrote the same document moments apart (a writer publishing only its own events
could overtake the other's). The relay also leaves pointers younger than `GRACE_SECONDS` alone, so in the normal path
it does not even race the writer for the lease; its 5 s sweep finds a document in flight now and then and skips it
(lease taken) or publishes it first (the writer then finds nothing left). What the writer never publishes (the
process died between the write and the publish, the broker was down, the queue was full) keeps its pointer and
its `outbox_pending` flag, and the relay publishes it once the pointer is older than the grace. A process that dies
while holding the lease leaves it to lapse (shared.outbox.LEASE_SECONDS) before the relay takes over; consumers
deduplicate by event id should the broker have had the events already.

The producer is made lazily, in this process, on first use (never inherited across gunicorn's fork: the process
id is checked), with no linger. While the broker is unreachable the publisher stands aside for a growing pause
(`hand_over` then returns without queueing) and the relay, backing off on its own, publishes when it is back.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time

import structlog
from kafka import KafkaProducer
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from shared.config import Settings
from shared.locks import DocumentBusy, give_back
from shared.outbox import Handed, make_producer, publish_documents, publish_on_write, take_outbox_leases

log = structlog.get_logger(__name__)

# The relay leaves pointers younger than this to the writer (the writer publishes within milliseconds).
GRACE_SECONDS = 2.0
# With writers publishing, the relay only catches what they left: it can poll its pointers less often.
RELAY_IDLE_SECONDS = 1.0
THREADS = 2
# Documents handed over while a thread was busy go out together, up to this many (one read and one write each, the
# rest of the round trips shared).
BATCH_SIZE = 50
QUEUE_SIZE = 1000
# How often one document is handed back when its lease was busy (another process finishing it), and the pause.
LEASE_RETRIES = 3
LEASE_RETRY_SECONDS = 0.05
FIRST_PAUSE, LONGEST_PAUSE = 2.0, 30.0
# Rounds of publishing one document under one lease while writes keep adding events to it.
MAX_ROUNDS = 5
DRAIN_SECONDS = 3.0


class WritePublisher:
    """Publishes, in the background, the documents this process has just stored events in."""

    def __init__(self, producer_factory, topic_prefix: str = "", threads: int = THREADS):
        self._producer_factory = producer_factory
        self.topic_prefix = topic_prefix
        self.threads = threads
        self._pid: int | None = None
        self._work: queue.Queue = queue.Queue(QUEUE_SIZE)
        self._producer: KafkaProducer | None = None
        self._producer_lock = threading.Lock()
        self._resume_at = 0.0
        self._pause = FIRST_PAUSE
        # Test hook: called in the background thread before a document is leased and published.
        self.before_publish = None

    def ready(self) -> bool:
        """True when a document handed over now goes out at once: the writer then takes its outbox lease in the
        write (shared.outbox), which spares the publisher a lease and a read of its own."""
        return time.monotonic() >= self._resume_at and self._work.qsize() < QUEUE_SIZE // 2

    def hand_over(self, collection: Collection, document_id, attempt: int = 0, handed: Handed | None = None) -> None:
        """Publish the document's events soon; returns at once and never raises (the relay is the safety net).
        `handed`: its outbox and lease, taken in the write; given back here when it is not published now."""
        if time.monotonic() < self._resume_at:
            self._give_back(handed)
            return  # the broker was unreachable a moment ago: the relay publishes it
        try:
            self._started().put_nowait((collection, document_id, attempt, handed))
        except queue.Full:
            log.warning("publish_on_write_queue_full", document_id=str(document_id))
            self._give_back(handed)
        except Exception as exc:  # noqa: BLE001 - the write is stored; publishing is the relay's job as well
            log.warning("publish_on_write_unavailable", error=repr(exc)[:200])
            self._give_back(handed)

    @staticmethod
    def _give_back(handed: Handed | None) -> None:
        if handed is not None:
            give_back(handed.lease)

    def _started(self) -> queue.Queue:
        """This process's queue, its threads started on first use (a forked child starts its own)."""
        pid = os.getpid()
        if self._pid != pid:
            with _START_LOCK:
                if self._pid != pid:
                    self._work, self._producer, self._producer_lock = queue.Queue(QUEUE_SIZE), None, threading.Lock()
                    for number in range(self.threads):
                        name = f"publish-on-write-{number}"
                        threading.Thread(target=self._run, args=(self._work,), name=name, daemon=True).start()
                    self._pid = pid
        return self._work

    def _run(self, work: queue.Queue) -> None:
        while True:
            batch = [work.get()]
            while len(batch) < BATCH_SIZE:  # what else is waiting goes out with it, sharing round trips
                try:
                    batch.append(work.get_nowait())
                except queue.Empty:
                    break
            try:
                self._publish(batch)
            except (PyMongoError, DocumentBusy) as exc:  # the relay publishes them
                log.warning("publish_on_write_database_error", documents=len(batch), error=str(exc)[:300])
            except Exception as exc:  # noqa: BLE001 - broker down or refusing: stand aside, the relay has it
                self._stand_aside(exc)
            finally:
                for _ in batch:
                    work.task_done()

    def _publish(self, batch: list[tuple[Collection, object, int, Handed | None]]) -> None:
        """Publish a batch of handed-over documents, those of one collection together."""
        by_collection: dict[str, tuple[Collection, dict]] = {}
        for collection, document_id, attempt, handed in batch:
            _, items = by_collection.setdefault(collection.full_name, (collection, {}))
            items.setdefault(document_id, []).append((attempt, handed))
        try:
            for collection, items in by_collection.values():
                self._publish_collection(collection, items)
        finally:  # whatever went wrong, no lease a writer took stays held (those given back already are empty)
            held: dict[str, list] = {}
            for *_, handed in batch:
                if handed is not None and handed.lease.key_by_id:
                    held.setdefault(handed.lease.keys.full_name, []).append(handed.lease)
            for leases in held.values():
                give_back(*leases)
        self._pause = FIRST_PAUSE

    def _publish_collection(self, collection: Collection, items: dict) -> None:
        """Publish documents of one collection: those handed with their lease as handed (their outbox known); the
        others leased here with one insert, and read."""
        if time.monotonic() < self._resume_at:
            return  # standing aside: the relay publishes them (the caller gives the writers' leases back)
        if self.before_publish:
            for document_id in items:
                self.before_publish(collection, document_id)
        handed, attempts = {}, {}
        for document_id, entries in items.items():
            with_lease = [h for _, h in entries if h is not None]
            if with_lease:  # (one lease is never handed twice; the caller gives back any other)
                handed[document_id] = with_lease[0]
            else:
                attempts[document_id] = min(attempt for attempt, _ in entries)
        leases = [h.lease for h in handed.values()]
        if attempts:
            taken = take_outbox_leases(collection, list(attempts))
            leases.append(taken)
            for document_id, attempt in attempts.items():
                # The relay or another process is publishing it, perhaps without our events yet: hand it over again.
                if document_id not in taken.key_by_id and attempt < LEASE_RETRIES:
                    delay = LEASE_RETRY_SECONDS * 2**attempt
                    threading.Timer(delay, self.hand_over, (collection, document_id, attempt + 1)).start()
        waiting = [*handed, *(document_id for document_id in attempts if document_id in taken.key_by_id)]
        outboxes = {document_id: h.outbox for document_id, h in handed.items()}
        try:
            producer = self._producer_now()
            for _round in range(MAX_ROUNDS):
                if not waiting:
                    break
                _count, waiting = publish_documents(
                    producer, self.topic_prefix, collection, waiting, by="writer", outboxes=outboxes, leases=leases
                )
                outboxes = {}  # a second round reads what was pushed meanwhile
        finally:
            give_back(*leases)  # those not given back with their documents' pointers (one delete)
            for lease in leases:
                lease.key_by_id.clear()  # given back: the caller's safety net leaves them out

    def _producer_now(self) -> KafkaProducer:
        with self._producer_lock:
            if self._producer is None:
                self._producer = self._producer_factory()
            return self._producer

    def _stand_aside(self, exc: Exception) -> None:
        """The broker failed us: close the producer and hand nothing over for a while (the relay publishes)."""
        self._resume_at = time.monotonic() + self._pause
        log.warning("publish_on_write_paused", seconds=self._pause, error=repr(exc)[:300])
        self._pause = min(LONGEST_PAUSE, self._pause * 2)
        self._drop_producer()

    def _drop_producer(self) -> None:
        """Close this process's producer, if it made one (a forked child leaves its parent's alone); the next
        publication makes a new one."""
        with self._producer_lock:
            producer, self._producer = (self._producer, None) if self._pid == os.getpid() else (None, None)
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception as close_error:  # noqa: BLE001 - a broken producer is dropped either way
                log.warning("publish_on_write_close_failed", error=repr(close_error)[:200])

    def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Wait a little for what was handed over to go out (at exit); what is left, the relay publishes."""
        if self._pid != os.getpid():
            return
        deadline = time.monotonic() + timeout
        while self._work.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self, timeout: float = DRAIN_SECONDS) -> None:
        """Drain, then close this process's producer: its connections and its thread that keeps the broker's
        metadata fresh end here, not at exit (a later hand-over makes a new one)."""
        self.drain(timeout)
        self._drop_producer()


_START_LOCK = threading.Lock()
_PUBLISHERS: list[WritePublisher] = []


def _after_fork_in_child() -> None:
    global _START_LOCK
    _START_LOCK = threading.Lock()  # a thread of the parent may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all() -> None:
    for publisher in _PUBLISHERS:
        publisher.close()


def enable_publish_on_write(db: Database, settings: Settings) -> WritePublisher | None:
    """Publish the events written to `db` by this process as soon as they are stored (settings.publish_on_write);
    the publisher, or None when the setting is off (then only the relay publishes)."""
    if not settings.publish_on_write:
        publish_on_write(db.name, None)
        return None
    publisher = WritePublisher(
        lambda: make_producer(settings.kafka_bootstrap, f"stint-{settings.service}-writer"),
        topic_prefix=settings.topic_prefix,
    )
    _PUBLISHERS.append(publisher)
    publish_on_write(db.name, publisher)
    return publisher


def relay_timing(settings: Settings) -> tuple[float, float]:
    """(the relay's grace for fresh pointers, its idle poll): both short when the relay is the only publisher."""
    return (GRACE_SECONDS, RELAY_IDLE_SECONDS) if settings.publish_on_write else (0.0, 0.2)
