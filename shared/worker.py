"""A service's worker process: its Kafka consumer and its outbox relay, side by side until SIGTERM."""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from typing import Any

import structlog
from pymongo.collection import Collection
from pymongo.database import Database

from shared.config import Settings
from shared.consumer import Consumer, Handler, ensure_topics
from shared.events import TOPICS
from shared.logs import configure_logging
from shared.mongo import connect
from shared.outbox import Relay, make_producer
from shared.publisher import enable_publish_on_write, relay_timing
from shared.worker_health import WorkerState, serve

log = structlog.get_logger(__name__)


def bind_handlers(handlers: dict[str, Callable[[Any, dict], object]], acts_on: Any) -> dict[str, Handler]:
    """The consumer's dispatch table: each handler(acts_on, event) bound to what it acts on (a database, a runtime)."""
    return {event_type: functools.partial(handler, acts_on) for event_type, handler in handlers.items()}


def run_worker(
    settings: Settings,
    *,
    handlers: dict[str, Callable[[Any, dict], object]],
    consumes: list[str],
    outbox_collections: Callable[[Database], list[Collection]] | None = None,
    pointed_outboxes: tuple[str, ...] = (),
    prepare: Callable[[Database], None] | None = None,
    acts_on: Callable[[Settings, Database], Any] | None = None,
    periodic: list[tuple[Callable[[Database], object], float]] | None = None,
    batch_handler: Callable[[Any, list], list] | None = None,
    batched_types: frozenset[str] = frozenset(),
) -> None:
    """Run the consumer and the relay until signalled.

    `handlers` maps each event type to handler(acts_on, event): the worker binds them, after `prepare(db)`, to
    `acts_on(settings, db)` (a service's runtime), or to the database when `acts_on` is None.
    `consumes` names the services whose topics to read (e.g. ["listing"]); the consumer
    runs when it is not empty, the relay when `outbox_collections` returns collections (none: publishes nothing).
    `periodic` lists (job, seconds): each job(db) runs in its own thread at that interval
    (deadlines, scheduled webhook retries), so a slow job never holds up the consumer.
    `pointed_outboxes` names the outbox collections whose every event-carrying write points the relay at its
    document (shared.outbox.insert_aggregate and the *_with_events helpers): the relay reads their pointers
    instead of scanning them, with a sweep every few seconds as the safety net.
    `batch_handler(acts_on, events)` takes runs of neighbouring events of `batched_types` at once (shared.consumer).
    With STINT_WORKER_PORT set, /healthz, /readyz and /metrics answer on that port.
    """
    topics = [settings.topic(service) for service in consumes]
    configure_logging(f"{settings.service}-worker")
    db = connect(settings)
    enable_publish_on_write(db, settings)  # what the handlers store is published at once, the relay the safety net
    if prepare:
        prepare(db)
    target = db if acts_on is None else acts_on(settings, db)
    bound = bind_handlers(handlers, target)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    _wait_for_topics(settings, stop)
    threads = []
    state = WorkerState()
    collections = outbox_collections(db) if outbox_collections else []
    if collections:
        grace, idle = relay_timing(settings)
        relay = Relay(
            collections,
            lambda: make_producer(settings.kafka_bootstrap, f"stint-{settings.service}-relay"),
            topic_prefix=settings.topic_prefix,
            pointed=pointed_outboxes,
            grace_seconds=grace,
        )
        threads.append(threading.Thread(target=relay.run_forever, args=(stop, idle), name="relay"))
    if topics:
        consumer = Consumer(
            db=db,
            bootstrap=settings.kafka_bootstrap,
            group_id=f"{settings.topic_prefix}stint-{settings.service}",
            topics=topics,
            handlers=bound,
            on_poll=state.polled,
            batch_handler=functools.partial(batch_handler, target) if batch_handler else None,
            batched_types=batched_types,
        )
        state.consumes = True
        threads.append(threading.Thread(target=consumer.run_forever, args=(stop,), name="consumer"))
    for job, interval in periodic or []:
        threads.append(threading.Thread(target=_repeat, args=(job, db, interval, stop), name=job.__name__))
    state.threads = threads
    probes = _serve_probes(settings, state, db, collections)
    for thread in threads:
        thread.start()
    log.info("worker_started", topics=topics, handlers=sorted(handlers))
    while not stop.is_set():
        stop.wait(1.0)
    for thread in threads:
        thread.join(timeout=30)
    if probes is not None:
        probes.shutdown()
    log.info("worker_stopped")


def _serve_probes(settings: Settings, state: WorkerState, db: Database, collections: list[Collection]):
    """Serve the worker's probes on STINT_WORKER_PORT (none when unset)."""
    port = settings.extra.get("STINT_WORKER_PORT", "")
    if not port:
        return None
    server = serve(int(port), state, db, settings.kafka_bootstrap, collections)
    log.info("worker_probes_listening", port=int(port))
    return server


def _wait_for_topics(settings: Settings, stop: threading.Event) -> None:
    """Create the platform's topics, retrying while the broker is not up yet."""
    delay = 0.5
    while not stop.is_set():
        try:
            ensure_topics(
                settings.kafka_bootstrap,
                [settings.topic(service) for service in TOPICS],
                replication_factor=settings.kafka_replication_factor,
                min_insync_replicas=settings.kafka_min_insync_replicas,
            )
            return
        except Exception as exc:
            log.warning("broker_not_ready", error=repr(exc)[:200])
            stop.wait(delay)
            delay = min(5.0, delay * 2)


def _repeat(job: Callable[[Database], object], db: Database, interval: float, stop: threading.Event) -> None:
    """Run `job(db)` every `interval` seconds until stopped; a failure is logged and retried next time."""
    while not stop.is_set():
        try:
            job(db)
        except Exception as exc:
            log.warning("periodic_job_failed", job=job.__name__, error=repr(exc)[:300])
        stop.wait(interval)
