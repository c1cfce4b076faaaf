"""Fixtures for the notification tests on real servers: an SMTP server (aiosmtpd), webhook receivers, and the
service harness that publishes to the real broker and runs the real consumer and periodic senders."""

from __future__ import annotations

import functools
import threading
from http.server import ThreadingHTTPServer

import pytest
from kafka import KafkaProducer

from services.notification import handlers
from services.notification.app import create_app
from services.notification.outbound import EmailSender, WebhookDispatcher
from services.notification.worker import BATCHED, CONSUMES, HANDLERS
from shared.mongo import connect
from shared.worker import bind_handlers
from tests.integration.notification.notification_support import (
    TEST_DELIVERY_SETTINGS,
    Notifier,
    Receiver,
    handler_for,
)
from tests.support.apps import service_app
from tests.support.pipeline import consumer_for, create_topics
from tests.support.smtp import smtp_server as running_smtp_server


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free local port, collecting every message."""
    with running_smtp_server() as catcher:
        yield catcher


@pytest.fixture
def webhook_receiver():
    """Start receivers: webhook_receiver(statuses=[500, 500], delay=0) -> Receiver with .url and .calls."""
    started = []

    def start(statuses: list[int] | None = None, delay: float = 0.0) -> Receiver:
        receiver = Receiver(statuses=list(statuses or []), delay=delay)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(receiver))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        receiver.server = server
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/stint"
        started.append(server)
        return receiver

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def notifier(settings_for, smtp_server):
    """The service under test, on this test's own database and topics."""
    settings = settings_for("notification", smtp_url=smtp_server.url, extra=TEST_DELIVERY_SETTINGS)
    create_topics(settings)
    db = connect(settings)
    app = create_app(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap.split(","), acks="all")
    # as the worker runs it: the events that only tell people are handled a run at a time
    batch = functools.partial(handlers.batch_handler(HANDLERS), db)
    consumer = consumer_for(
        settings, db, CONSUMES, bind_handlers(HANDLERS, db), batch_handler=batch, batched_types=BATCHED
    )
    dispatcher = WebhookDispatcher(settings)
    harness = Notifier(settings, db, app.test_client(), consumer, EmailSender(settings), dispatcher, producer)
    yield harness
    consumer.close()
    producer.close(timeout=5)
    dispatcher.close()
    db.client.drop_database(db.name)


@pytest.fixture
def api(settings_for):
    """Just the HTTP API on this test's database (no broker needed)."""
    with service_app(create_app, settings_for("notification")) as app:
        yield app.test_client(), app.extensions["stint_db"]
