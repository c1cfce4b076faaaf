"""The consumer runner: poll → parse (once: a typed `Event`) → dispatch by type → store effect and event id → commit.

A type the consumer has no handler for is skipped unchecked: its consumers check it (and dead-letter it if bad).

Offsets are committed only after the effect is stored. Each handled event id is recorded (unique `_id` in
`handled_events`), so a redelivered event changes nothing. A handler failure is retried with backoff, then the
message goes to `<topic>.dlq` with the error in its headers; an unparseable message goes there at once. A database
outage is not the message's fault: the consumer rewinds and waits instead of dead-lettering; so is a document whose
write lock a dead process left behind (`DocumentBusy`, taken over once stale).

That record of handled ids, not the committed offset, is what keeps an event from being handled twice; so a busy
consumer commits at most once a `commit_interval` (and at once on close and on any error) instead of after every
poll: each commit is a broker round trip and an append to the broker's offsets log, and under load a poll brings only
a few records. The consumer that gets a partition after one that died between commits, or after a rebalance took it
away (its uncommitted offsets are dropped then, `_ForgetRevoked`), reads up to that interval's events again and skips
them as handled (one read each).

A service may name a batch handler for some types: a run of such events next to each other in one partition's
poll (one alone too, so each type has one path while it works) is handed over at once (one write per document they
share, one insert per collection, instead of one each), their handled ids recorded together, then their offsets
committed. Its effects must be idempotent per event, as every handler's are (a redelivered run is re-done, less the
events recorded as handled). When the batch handler fails for a reason other than the infrastructure, the run is
handled one event at a time, so a bad event is retried and dead-lettered on its own.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from shared import metrics
from shared.events import DLQ_SUFFIX, Event, EventSchemaError, decode_message, read_event
from shared.locks import DocumentBusy
from shared.mongo import insert_new

log = structlog.get_logger(__name__)

# A handler gets the event typed (shared.events.Event: its data is the catalog schema's record).
Handler = Callable[[Event], object]
BatchHandler = Callable[[list[Event]], list[object]]  # one effect per event, in order
HANDLED_EVENTS = "handled_events"
DEFAULT_PARTITIONS = 3
# Seconds between offset commits of a busy consumer (see the module's docstring).
COMMIT_INTERVAL = 1.0
COMMIT_TIMEOUT_MS = 10_000  # a commit the broker does not answer raises (the consumer is rebuilt), never hangs


@dataclass(frozen=True)
class NotHandledHere:
    """A record whose event type this consumer has no handler for: skipped without checking it."""

    type: str


class InfrastructureDown(Exception):
    """The database cannot be reached: retry the same message later, never dead-letter it."""


def ensure_topics(
    bootstrap: str,
    topics: list[str],
    partitions: int = DEFAULT_PARTITIONS,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
) -> None:
    """Create the topics (and their dead-letter topics) when they do not exist yet, each partition on
    `replication_factor` brokers and a write acknowledged (acks=all) once `min_insync_replicas` of them hold it."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="stint-admin", request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        wanted = [t for topic in topics for t in (topic, topic + DLQ_SUFFIX) if t not in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker created it first
                admin.create_topics(
                    [
                        NewTopic(
                            t,
                            partitions,
                            replication_factor,
                            topic_configs={"min.insync.replicas": str(min_insync_replicas)},
                        )
                        for t in wanted
                    ]
                )
    finally:
        admin.close()


class Consumer:
    """Runs one consumer-group member for a service's handlers."""

    def __init__(
        self,
        *,
        db: Database,
        bootstrap: str,
        group_id: str,
        topics: list[str],
        handlers: dict[str, Handler],
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        poll_timeout_ms: int = 500,
        max_poll_records: int = 100,
        on_poll: Callable[[], None] | None = None,
        batch_handler: BatchHandler | None = None,
        batched_types: frozenset[str] = frozenset(),
        commit_interval: float = COMMIT_INTERVAL,
    ):
        self.db = db
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self.handlers = handlers
        self.batch_handler = batch_handler
        self.batched_types = batched_types if batch_handler else frozenset()
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.poll_timeout_ms = poll_timeout_ms
        self.max_poll_records = max_poll_records
        self.commit_interval = commit_interval
        self._uncommitted: dict = {}  # partition -> the offset after its last handled record, not yet committed
        self._committed_at = time.monotonic()
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._lag_checked_at = 0.0
        self._on_poll = on_poll or (lambda: None)
        # Test hook: called after an effect is stored and before its offset is committed.
        self.after_effect = None

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def kafka(self) -> KafkaConsumer:
        """The underlying KafkaConsumer, subscribed on first use."""
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap.split(","),
                group_id=self.group_id,
                client_id=f"{self.group_id}-consumer",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self.max_poll_records,
                session_timeout_ms=10000,
                heartbeat_interval_ms=2000,
                max_poll_interval_ms=300000,
            )
            self._consumer.subscribe(self.topics, listener=_ForgetRevoked(self._uncommitted))
        return self._consumer

    def close(self) -> None:
        """Commit what was handled and not yet committed, then leave the group and close connections."""
        if self._consumer is not None:
            with contextlib.suppress(KafkaError):  # not committed: redelivered, and skipped as handled
                self._commit({}, now=True)
            self._uncommitted.clear()
            self._consumer.close(autocommit=False)
            self._consumer = None
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None

    def run_forever(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; rebuild the client after broker errors."""
        backoff = self.retry_backoff
        while not stop.is_set():
            try:
                self.poll_once()
                backoff = self.retry_backoff
            except InfrastructureDown as exc:
                log.warning("consumer_waiting_for_database", error=str(exc)[:300])
                stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
            except Exception as exc:
                log.warning("consumer_error", error=repr(exc)[:300])
                self.close()
                stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
        self.close()

    # ---- one poll ----------------------------------------------------------------------

    def poll_once(self) -> int:
        """Handle one batch; return how many messages were consumed (handled, skipped or dead-lettered)."""
        batch = self.kafka.poll(timeout_ms=self.poll_timeout_ms)
        done, handled = 0, {}
        try:
            for partition, records in batch.items():
                for run in self._runs(records):
                    try:
                        if len(run) == 1 and not self._batched(run[0][1]):
                            self._consume(*run[0])
                        else:
                            self._consume_run(run)
                    except InfrastructureDown:
                        self.kafka.seek(partition, run[0][0].offset)
                        self._rewind_rest(batch, partition)
                        raise
                    handled[partition] = OffsetAndMetadata(run[-1][0].offset + 1, None, -1)
                    done += len(run)
        except BaseException:
            with contextlib.suppress(KafkaError):  # not committed: redelivered, and skipped as handled
                self._commit(handled, now=True)
            raise
        self._commit(handled)
        self._report_lag()
        self._on_poll()
        return done

    def _commit(self, handled: dict, now: bool = False) -> None:
        """Note what a batch handled, after its effects, and commit what is noted once `commit_interval` has passed
        since the last commit (or `now`): a consumer that dies before gets those records again, and the
        handled-events check skips their effects. Called after every poll, records or none, so a consumer gone
        quiet commits its last records within a poll's timeout of the interval."""
        self._uncommitted.update(handled)
        if not self._uncommitted or not (now or time.monotonic() - self._committed_at >= self.commit_interval):
            return
        self.kafka.commit(dict(self._uncommitted), timeout_ms=COMMIT_TIMEOUT_MS)
        self._uncommitted.clear()
        self._committed_at = time.monotonic()

    def _rewind_rest(self, batch: dict, failed_partition) -> None:
        """Seek partitions not yet handled in this batch back to their first record."""
        started = False
        for partition, records in batch.items():
            if partition == failed_partition:
                started = True
                continue
            if started and records:
                self.kafka.seek(partition, records[0].offset)

    def _batched(self, parsed) -> bool:
        """True for an event the batch handler takes (alone too: a run of one goes the same way as a longer one)."""
        return isinstance(parsed, Event) and parsed.type in self.batched_types

    def _runs(self, records) -> list[list[tuple]]:
        """A partition's records, each with its parsed event (or the reason it is unparseable), cut into runs: a
        run of neighbouring events the batch handler takes, or a single record."""
        runs: list[list[tuple]] = []
        for record in records:
            item = (record, self._read(record.value))
            batched = self._batched(item[1])
            if batched and runs and runs[-1][-1][2]:
                runs[-1].append((*item, True))
            else:
                runs.append([(*item, batched)])
        return [[(record, parsed) for record, parsed, _ in run] for run in runs]

    def _read(self, raw: bytes) -> Event | EventSchemaError | NotHandledHere:
        """The record's event, checked and typed; or why it is unparseable; or, for a type this consumer has no
        handler for, only that type: it is skipped unchecked (checking is for the consumers that act on it, and the
        catalog check costs more than a skip: most of what the certification and listing workers read is this)."""
        try:
            decoded = decode_message(raw)
            event_type = decoded.get("type") if isinstance(decoded, dict) else None
            if isinstance(event_type, str) and event_type not in self.handlers and event_type not in self.batched_types:
                return NotHandledHere(event_type)
            return read_event(decoded)
        except EventSchemaError as exc:
            return exc

    def _consume_run(self, run: list[tuple]) -> None:
        """Handle a run of batched events at once (those already handled left out); one at a time when it fails."""
        fresh = []
        for record, event in run:
            if self._already_handled(event.id):
                metrics.EVENTS_CONSUMED.labels(type=event.type, outcome="duplicate").inc()
            else:
                fresh.append((record, event))
        if not fresh:
            return
        try:
            effects = self.batch_handler([event for _, event in fresh])
        except (ConnectionFailure, InfrastructureDown, DocumentBusy) as exc:
            raise InfrastructureDown(str(exc)) from exc
        except Exception as exc:
            log.warning("event_batch_failed", events=len(fresh), error=repr(exc)[:300])
            for record, event in fresh:
                self._consume(record, event)
            return
        self._remember_all(fresh, effects)
        for (_, event), effect in zip(fresh, effects, strict=True):
            if self.after_effect:
                self.after_effect(event)
            log.info(
                "event_handled",
                event_id=event.id,
                event_type=event.type,
                subject=event.subject,
                effect=str(effect)[:200] if effect is not None else None,
                batch=len(fresh),
            )
            metrics.EVENTS_CONSUMED.labels(type=event.type, outcome="handled").inc()

    def _consume(self, record, event: Event | EventSchemaError | NotHandledHere) -> None:
        if isinstance(event, NotHandledHere):
            metrics.EVENTS_CONSUMED.labels(type=event.type, outcome="ignored").inc()
            return
        if isinstance(event, EventSchemaError):
            self._dead_letter(record, event, attempts=0)
            metrics.EVENTS_CONSUMED.labels(type="unparseable", outcome="dead_lettered").inc()
            return
        event_type, event_id = event.type, event.id
        bound = log.bind(event_id=event_id, event_type=event_type, subject=event.subject)
        handler = self.handlers.get(event_type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(type=event_type, outcome="ignored").inc()
            return
        if self._already_handled(event_id):
            bound.info("event_duplicate_skipped")
            metrics.EVENTS_CONSUMED.labels(type=event_type, outcome="duplicate").inc()
            return
        effect, error = self._call_with_retries(handler, event, bound)
        if error is not None:
            self._dead_letter(record, error, attempts=self.max_attempts)
            metrics.EVENTS_CONSUMED.labels(type=event_type, outcome="dead_lettered").inc()
            return
        self._remember(event, record, effect)
        if self.after_effect:
            self.after_effect(event)
        bound.info("event_handled", effect=str(effect)[:200] if effect is not None else None)
        metrics.EVENTS_CONSUMED.labels(type=event_type, outcome="handled").inc()

    def _call_with_retries(self, handler: Handler, event: Event, bound) -> tuple[object, Exception | None]:
        """Run a handler; infrastructure errors escape, others are retried then returned."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return handler(event), None
            except (ConnectionFailure, InfrastructureDown, DocumentBusy) as exc:
                raise InfrastructureDown(str(exc)) from exc
            except Exception as exc:
                bound.warning("event_handler_failed", attempt=attempt, error=repr(exc)[:300])
                if attempt == self.max_attempts:
                    return None, exc
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
        return None, RuntimeError("unreachable")

    # ---- bookkeeping -------------------------------------------------------------------

    def _already_handled(self, event_id: str) -> bool:
        try:
            return self.db[HANDLED_EVENTS].find_one({"_id": event_id}, {"_id": 1}) is not None
        except PyMongoError as exc:
            raise InfrastructureDown(str(exc)) from exc

    def _remember(self, event: Event, record, effect) -> None:
        try:
            self.db[HANDLED_EVENTS].insert_one(_handled_note(event, record, effect))
        except DuplicateKeyError:
            pass
        except PyMongoError as exc:
            raise InfrastructureDown(str(exc)) from exc

    def _remember_all(self, handled: list[tuple], effects: list) -> None:
        notes = [_handled_note(event, record, effect) for (record, event), effect in zip(handled, effects, strict=True)]
        try:
            insert_new(self.db[HANDLED_EVENTS], notes)  # a note already there: handled by a delivery that died
        except PyMongoError as exc:
            raise InfrastructureDown(str(exc)[:300]) from exc

    def _dead_letter(self, record, error: Exception, attempts: int) -> None:
        """Copy the message to `<topic>.dlq` with the reason in its headers."""
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap.split(","),
                acks="all",
                enable_idempotence=True,
                client_id=f"{self.group_id}-dlq",
            )
        headers = [
            ("error", str(error)[:2000].encode()),
            ("error_type", type(error).__name__.encode()),
            ("attempts", str(attempts).encode()),
            ("original_topic", record.topic.encode()),
            ("original_partition", str(record.partition).encode()),
            ("original_offset", str(record.offset).encode()),
            ("consumer_group", self.group_id.encode()),
            ("failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        self._producer.send(record.topic + DLQ_SUFFIX, key=record.key, value=record.value, headers=headers).get(
            timeout=30
        )
        metrics.DEAD_LETTERS.labels(topic=record.topic).inc()
        log.error(
            "event_dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=str(error)[:300],
        )

    def _report_lag(self, every_seconds: float = 15.0) -> None:
        now = time.monotonic()
        if now - self._lag_checked_at < every_seconds:
            return
        self._lag_checked_at = now
        assigned = self.kafka.assignment()
        if not assigned:
            return
        for partition, end in self.kafka.end_offsets(list(assigned)).items():
            position = self.kafka.position(partition)
            metrics.CONSUMER_LAG.labels(
                group=self.group_id, topic=partition.topic, partition=str(partition.partition)
            ).set(max(0, end - position))


class _ForgetRevoked(ConsumerRebalanceListener):
    """Drops the uncommitted offsets of partitions the group takes away: their next owner may move on before this
    member would commit, and an older offset committed after that would only make it read those events again. (The
    listener may not block, so it does not commit them: the next owner skips those events as handled.)"""

    def __init__(self, uncommitted: dict):
        self.uncommitted = uncommitted

    def on_partitions_revoked(self, revoked) -> None:
        for partition in revoked:
            self.uncommitted.pop(partition, None)

    def on_partitions_assigned(self, assigned) -> None:
        pass


def _handled_note(event: Event, record, effect) -> dict:
    """What `handled_events` keeps of a handled event: its id (the key), where it was read, and its effect."""
    return {
        "_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "handled_at": datetime.now(UTC),
        "effect": effect if isinstance(effect, (str, dict, list, int, float)) else None,
    }
