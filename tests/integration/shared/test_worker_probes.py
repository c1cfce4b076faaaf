"""A worker answers the probes an orchestrator sends: alive, ready (database and broker answer, the consumer polls),
and its metrics (consumer lag, seconds since the last poll, the relay's backlog). Real processes, real servers."""

from __future__ import annotations

import sys
import uuid

import requests

from devservers import FerretServer, free_port
from devservers.platform_processes import ServiceProcess
from tests.conftest import TEST_SECRET


def test_a_worker_is_alive_ready_and_measured_and_says_when_its_database_is_gone(servers, tmp_path):
    database = FerretServer(tmp_path / "ferretdb")  # its own, so stopping it disturbs no other test
    database.start(timeout=60)
    port = free_port()
    namespace = "probe" + uuid.uuid4().hex[:8]
    env = {
        "STINT_ENV": "test",
        "STINT_AUTH_SECRET": TEST_SECRET,
        "STINT_KAFKA_BOOTSTRAP": servers.bootstrap,
        "STINT_MONGO_URL": database.url,
        "STINT_MONGO_DB": namespace + "_{service}",
        "STINT_TOPIC_PREFIX": namespace + ".",
        "STINT_WORKER_PORT": str(port),
    }
    worker = ServiceProcess("listing-worker", [sys.executable, "-m", "services.listing.worker"], env, tmp_path, port)
    try:
        worker.start(timeout=90)
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "consumer": "ok"}
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        assert "stint_consumer_seconds_since_last_poll" in metrics
        assert 'stint_relay_backlog{collection="listings"} 0.0' in metrics

        database.kill()
        gone = requests.get(f"{base}/readyz", timeout=15)
        assert gone.status_code == 503
        assert gone.json()["checks"]["database"].startswith("unreachable")
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200  # alive: it waits for the database
    finally:
        worker.stop()
        database.stop()
