"""Drill: the certification worker, run as operators run it, is killed (SIGKILL) in the middle of re-issuing what
a revoked key signed; a second worker finishes the job. Every credential gets one successor and every student
hears once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.certification import key_revocation, store
from services.notification import store as notification_store
from services.notification.worker import HANDLERS as NOTIFICATION_HANDLERS
from shared.mongo import connect
from shared.worker import bind_handlers
from tests.conftest import TEST_SECRET
from tests.support.pipeline import consume_until, consumer_for, create_topics

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CREDENTIALS = 40
REISSUED = "stint.certificate.reissued.v1"


def _worker(settings) -> subprocess.Popen:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STINT_")},
        "STINT_ENV": "test",
        "STINT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "STINT_MONGO_URL": settings.mongo_url,
        "STINT_MONGO_DB": settings.database_name,
        "STINT_TOPIC_PREFIX": settings.topic_prefix,
        "STINT_AUTH_SECRET": TEST_SECRET,
        "STINT_PUBLIC_URL": settings.public_url,
        "STINT_SIGNING_KEY_DIR": settings.signing_key_dir,
    }
    command = [sys.executable, "-m", "services.certification.worker"]
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait(condition, timeout: float, what: str, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_a_worker_killed_midway_through_a_reissue_loses_and_doubles_nothing(
    client, issue, as_role, runtime, cert_settings, settings_for, monkeypatch
):
    monkeypatch.setattr(key_revocation, "RETIRED_GRACE_SECONDS", 0)
    create_topics(cert_settings)
    students = [
        {"id": f"student-{n}", "name": f"Student {n}", "email": f"s{n}@example.org"} for n in range(CREDENTIALS)
    ]
    records = [issue(student=student) for student in students]
    assert client.post("/keys/rotate", headers=as_role("admin")).status_code == 201
    assert client.post("/keys/key-1/revoke", json={"reason": "leaked"}, headers=as_role("admin")).status_code == 200
    reissues = runtime.db[store.REISSUES]

    first = _worker(cert_settings)
    try:
        _wait(lambda: reissues.count_documents({}) >= 3, timeout=90, what="the first re-issues")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    started = reissues.count_documents({})
    if started >= CREDENTIALS and reissues.count_documents({"state": "done"}) == CREDENTIALS:
        pytest.fail("the job finished before the kill: the drill proved nothing (raise CREDENTIALS)")

    second = _worker(cert_settings)
    try:
        _wait(
            lambda: (
                reissues.count_documents({"state": "done"}) == CREDENTIALS
                and runtime.db[store.CREDENTIALS].count_documents({"outbox_pending": True}) == 0
            ),
            timeout=180,
            what="the second worker finishing the job and publishing its events",
            step=0.5,
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=45) == 0

    successors = list(runtime.db[store.CREDENTIALS].find({"reissue_of": {"$ne": ""}}))
    assert sorted(s["reissue_of"] for s in successors) == sorted(r["_id"] for r in records)
    assert all(s["key_id"] == "key-2" for s in successors)
    replaced = runtime.db[store.CREDENTIALS].count_documents({"revocation_reason": "re-issued"})
    assert replaced == CREDENTIALS

    notification_settings = settings_for("notification")
    inbox_db = connect(notification_settings)
    notification_store.ensure_indexes(inbox_db)
    notifier = consumer_for(
        notification_settings, inbox_db, ["certification"], bind_handlers(NOTIFICATION_HANDLERS, inbox_db)
    )
    inbox = inbox_db[notification_store.INBOX]
    try:
        consume_until(notifier, lambda: inbox.count_documents({"event_type": REISSUED}) >= CREDENTIALS, timeout=60)
        for _ in range(3):  # a duplicate would arrive now
            notifier.poll_once()
        recipients = sorted(entry["recipient"] for entry in inbox.find({"event_type": REISSUED}))
    finally:
        notifier.close()
        inbox_db.client.drop_database(notification_settings.mongo_db)
    assert recipients == sorted(f"user:{student['id']}" for student in students)
    print(f"drill: killed after {started} of {CREDENTIALS} re-issues had started; the second worker finished")
