"""What an orchestrator probes on a worker: /healthz (its threads are alive), /readyz (database and broker answer,
the consumer polled recently) and /metrics (consumer lag, events handled and failed, dead letters, the relay's
backlog and the age of its oldest pending event, seconds since the last successful poll).

A small threaded HTTP server from the standard library, started by `run_worker` when STINT_WORKER_PORT is set.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from shared.health import dependency_checks

# A consumer that has not finished a poll for this long is stuck (its polls time out after half a second).
STALE_POLL_SECONDS = 60.0

RELAY_BACKLOG = Gauge("stint_relay_backlog", "Documents with events waiting to be published", ["collection"])
RELAY_OLDEST_SECONDS = Gauge(
    "stint_relay_oldest_pending_seconds", "Age of the oldest event waiting to be published", ["collection"]
)
SINCE_LAST_POLL = Gauge("stint_consumer_seconds_since_last_poll", "Seconds since the consumer last finished a poll")


class WorkerState:
    """What the worker's threads report, read by the probes."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.consumes = False
        self.last_poll = time.monotonic()

    def polled(self) -> None:
        """The consumer finished a poll (with or without messages)."""
        self.last_poll = time.monotonic()

    def seconds_since_poll(self) -> float:
        """How long ago the consumer last finished a poll."""
        return time.monotonic() - self.last_poll


def relay_backlog(collections: list[Collection]) -> None:
    """Set the backlog gauges from the documents still carrying pending events."""
    now = datetime.now(UTC)
    for collection in collections:
        pending = list(collection.find({"outbox_pending": True}, {"outbox.time": 1}))
        RELAY_BACKLOG.labels(collection.name).set(len(pending))
        times = [
            _aware(doc["outbox"][0].get("time"))
            for doc in pending
            if doc.get("outbox") and isinstance(doc["outbox"][0], dict)
        ]
        oldest = min((t for t in times if t is not None), default=None)
        RELAY_OLDEST_SECONDS.labels(collection.name).set((now - oldest).total_seconds() if oldest else 0)


def _aware(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def checks(state: WorkerState, db: Database, bootstrap: str) -> dict[str, str]:
    """Each readiness check's outcome: "ok" or what is wrong."""
    results = dependency_checks(db, bootstrap)
    if state.consumes:
        since = state.seconds_since_poll()
        results["consumer"] = "ok" if since < STALE_POLL_SECONDS else f"no poll for {since:.0f} s"
    return results


def serve(port: int, state: WorkerState, db: Database, bootstrap: str, collections: list[Collection]):
    """Start the probe server on 0.0.0.0:`port` in a daemon thread; return the server (shutdown() stops it)."""

    class Probe(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's hook name
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                dead = [t.name for t in state.threads if t.ident is not None and not t.is_alive()]
                body = {"status": "ok"} if not dead else {"status": "dead", "threads": dead}
                self._send(503 if dead else 200, body)
            elif path == "/readyz":
                results = checks(state, db, bootstrap)
                ready = all(v == "ok" for v in results.values())
                self._send(200 if ready else 503, {"status": "ready" if ready else "not_ready", "checks": results})
            elif path == "/metrics":
                SINCE_LAST_POLL.set(state.seconds_since_poll() if state.consumes else 0)
                with contextlib.suppress(PyMongoError):  # /readyz says the database is down; the rest still helps
                    relay_backlog(collections)
                self._send_raw(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            else:
                self._send(404, {"error": {"code": "not_found", "message": "no such probe", "details": {}}})

        def _send(self, status: int, body: dict) -> None:
            self._send_raw(status, json.dumps(body).encode(), "application/json")

        def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # probes every few seconds would flood the logs
            return

    server = ThreadingHTTPServer(("0.0.0.0", port), Probe)
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    return server
