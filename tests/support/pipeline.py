"""Drive a service's outbox relay and consumer by hand, so tests wait on outcomes, not sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.consumer import Consumer, ensure_topics
from shared.events import TOPICS
from shared.outbox import Relay, make_producer, relay_until_empty


def create_topics(settings) -> None:
    """Create every platform topic under the settings' prefix."""
    ensure_topics(settings.kafka_bootstrap, [settings.topic(service) for service in TOPICS])


def relay_for(settings, collections) -> Relay:
    """A relay over `collections`, publishing to the settings' topics."""
    return Relay(
        collections,
        lambda: make_producer(settings.kafka_bootstrap, f"test-{settings.service}-relay"),
        topic_prefix=settings.topic_prefix,
    )


def publish_pending(settings, collections, timeout: float = 30.0) -> int:
    """Publish everything pending in `collections`; return how many events went out."""
    relay = relay_for(settings, collections)
    try:
        return relay_until_empty(relay, timeout)
    finally:
        relay.close()


def consumer_for(settings, db, consumes: list[str], handlers: dict, group: str | None = None, **options) -> Consumer:
    """A consumer-group member reading the named services' topics into `db` (`options`: Consumer's, e.g. a batch
    handler)."""
    return Consumer(
        db=db,
        bootstrap=settings.kafka_bootstrap,
        group_id=group or f"{settings.topic_prefix}stint-{settings.service}",
        topics=[settings.topic(service) for service in consumes],
        handlers=handlers,
        retry_backoff=0.05,
        **options,
    )


def consume_until(consumer: Consumer, done: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll until `done()` is true; fail the test with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        consumer.poll_once()
        if done():
            return
    raise AssertionError(f"condition not reached within {timeout}s")
