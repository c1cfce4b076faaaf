"""Helpers for the notification integration tests: a mail catcher, webhook receivers and the service harness."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kafka import KafkaProducer

from services.notification.outbound import EmailSender, WebhookDispatcher
from shared.events import encode_event, topic_for
from tests.conftest import auth_header
from tests.support.pipeline import consume_until

ORG_ID = "org-acme"
# Short enough that retries and timeouts play out in a test, long enough to be unmistakable.
TEST_DELIVERY_SETTINGS = {
    "STINT_WEBHOOK_BACKOFF_SECONDS": "0.2",
    "STINT_WEBHOOK_MAX_ATTEMPTS": "4",
    "STINT_WEBHOOK_TIMEOUT_SECONDS": "1.5",
    "STINT_MAIL_FROM": "Stint <no-reply@stint.test>",
}


def wait_for(condition: Callable[[], object], timeout: float = 15.0, step: float = 0.05, tick=None):
    """Poll until `condition()` is truthy (calling `tick()` between polls); return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick:
            tick()
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not reached within {timeout}s")


@dataclass
class Receiver:
    """A small real HTTP server answering webhook calls by a script: one status per call, then 200."""

    statuses: list[int]
    delay: float = 0.0
    calls: list = field(default_factory=list)
    url: str = ""
    server: ThreadingHTTPServer | None = None

    def answer(self) -> int:
        return self.statuses[len(self.calls) - 1] if len(self.calls) <= len(self.statuses) else 200


def handler_for(receiver: Receiver):
    class Handle(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.calls.append({"headers": dict(self.headers), "body": body, "at": time.monotonic()})
            status = receiver.answer()
            time.sleep(receiver.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the caller gave up waiting

        def log_message(self, *args):
            pass

    return Handle


@dataclass
class Notifier:
    """The notification service wired to the real servers: its API, consumer and periodic senders."""

    settings: object
    db: object
    client: object
    consumer: object
    emails: EmailSender
    dispatcher: WebhookDispatcher
    producer: KafkaProducer

    def publish(self, *events: dict) -> None:
        """Publish events as their producers would (keyed by subject, on the prefixed topic)."""
        for event in events:
            topic = self.settings.topic_prefix + topic_for(event["type"])
            self.producer.send(topic, key=event["subject"].encode(), value=encode_event(event))
        self.producer.flush()

    def consume(self, *events: dict, timeout: float = 30.0) -> None:
        """Run the real consumer until every one of `events` is handled."""
        ids = [event["id"] for event in events]
        consume_until(
            self.consumer, lambda: self.db.handled_events.count_documents({"_id": {"$in": ids}}) == len(ids), timeout
        )

    def deliver(self, *events: dict) -> None:
        """Publish and consume."""
        self.publish(*events)
        self.consume(*events)

    def send_emails(self) -> int:
        """Run the periodic email job once."""
        return self.emails.send_due_emails(self.db)

    def dispatch_until(self, condition: Callable[[], object], timeout: float = 15.0):
        """Run the periodic webhook job until `condition()` holds."""
        return wait_for(condition, timeout, tick=lambda: self.dispatcher.dispatch_due_webhooks(self.db))

    def call(self, method: str, path: str, bearer: str | None = None, **kwargs):
        """An HTTP request to the API (with a bearer token when given)."""
        headers = auth_header(bearer) if bearer else {}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def register_webhook(self, bearer: str, url: str, secret: str, event_types=("*",)) -> dict:
        """POST /webhooks and return the created endpoint."""
        response = self.call(
            "POST", "/webhooks", bearer, json={"url": url, "secret": secret, "event_types": [*event_types]}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()
