"""The worker as operators run it (`python -m services.notification.worker`): consume, then mail and call out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from services.notification.app import create_app
from tests.conftest import TEST_SECRET, auth_header
from tests.integration.notification.notification_support import TEST_DELIVERY_SETTINGS, wait_for
from tests.support.pipeline import create_topics
from tests.unit.notification.notification_samples import ORG_ID, sample_event

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def worker_environment(settings) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("STINT_")},
        **TEST_DELIVERY_SETTINGS,
        "STINT_ENV": "test",
        "STINT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "STINT_MONGO_URL": settings.mongo_url,
        "STINT_MONGO_DB": settings.database_name,
        "STINT_TOPIC_PREFIX": settings.topic_prefix,
        "STINT_AUTH_SECRET": TEST_SECRET,
        "STINT_SMTP_URL": settings.smtp_url,
    }


def test_the_worker_process_emails_and_calls_webhooks_from_the_events_it_consumes(
    settings_for, smtp_server, webhook_receiver, token
):
    settings = settings_for("notification", smtp_url=smtp_server.url)
    create_topics(settings)
    app = create_app(settings)
    receiver = webhook_receiver()
    employer = auth_header(token("employer", sub="emp-1", org=ORG_ID))
    body = {"url": receiver.url, "secret": "whsec-0123456789-abcdef", "event_types": ["*"]}
    assert app.test_client().post("/webhooks", headers=employer, json=body).status_code == 201

    worker = subprocess.Popen(
        [sys.executable, "-m", "services.notification.worker"],
        cwd=PROJECT_ROOT,
        env=worker_environment(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from kafka import KafkaProducer

        from shared.events import encode_event, topic_for
        from tests.integration.notification.conftest import Notifier  # noqa: F401 - same publishing path

        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap.split(","), acks="all")
        for event in (sample_event("stint.application.accepted.v1"), sample_event("stint.application.submitted.v1")):
            producer.send(
                settings.topic_prefix + topic_for(event["type"]),
                key=event["subject"].encode(),
                value=encode_event(event),
            )
        producer.flush()
        producer.close()

        wait_for(lambda: smtp_server.to("asha@example.org"), timeout=60, step=0.2)
        wait_for(lambda: len(receiver.calls) == 2, timeout=30, step=0.2)
        assert smtp_server.to("asha@example.org")[0]["Subject"] == "You are accepted for Dashboard for field sales"
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=45) == 0
        app.extensions["stint_db"].client.drop_database(settings.database_name)
