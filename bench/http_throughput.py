"""HTTP throughput under gunicorn: listing search, applying and verifying, each next to a minimal Flask endpoint.

Every target runs under the same gunicorn settings (the platform's: sync workers, the same count) and gets the same
bounded load: a fixed number of client threads, each with its own requests.Session, sending back to back for a fixed
duration on loopback. The minimal app (bench/minimal_app.py) is measured in the same run, so the ratio says what the
service adds on top of Flask + gunicorn on this machine at this moment.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from pymongo import MongoClient

from bench.support import Platform, percentile, token

Request = Callable[[requests.Session], requests.Response]


@dataclass
class LoadResult:
    """What one target answered under load."""

    name: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def requests_per_second(self) -> float:
        """Successful requests per second."""
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        """A latency percentile in milliseconds."""
        return percentile(self.latencies_ms, q)


def load(name: str, request: Request, expect: int, duration: float, threads: int) -> LoadResult:
    """Send `request` from `threads` threads back to back for `duration` seconds; count answers other than `expect`."""
    result = LoadResult(name, duration)
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client():
        session = requests.Session()
        mine, errors, first_error = [], 0, ""
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = request(session)
                ok = response.status_code == expect
                problem = "" if ok else f"{response.status_code}: {response.text[:200]}"
            except requests.RequestException as exc:
                ok, problem = False, repr(exc)[:200]
            if ok:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
                first_error = first_error or problem
        with lock:
            result.latencies_ms.extend(mine)
            result.errors += errors
            result.first_error = result.first_error or first_error

    workers = [threading.Thread(target=client) for _ in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    result.seconds = time.monotonic() - began
    return result


def seed_listings(platform: Platform, count: int) -> None:
    """Bulk-insert `count` published listings straight into the listing service's store."""
    from bench.listing_search import fill_to

    client = MongoClient(platform.mongo_url, tz_aware=True)
    try:
        db = client[platform.database("listing")]
        fill_to(db, db["listings"].estimated_document_count() + count, random.Random(7), datetime.now(UTC))
    finally:
        client.close()


def targets(platform: Platform, minimal_url: str, listing_id: str, credential: dict, word: str) -> list[tuple]:
    """(name, request, expected status) for the minimal app and each service endpoint."""
    students = (token("student", sub=f"thr-{uuid.uuid4().hex[:6]}-{n}") for n in itertools.count())
    students_lock = threading.Lock()

    def next_student() -> str:
        with students_lock:
            return next(students)

    def apply(session: requests.Session) -> requests.Response:
        body = {"listing_id": listing_id, "cover_note": "Keen to help.", "answers": []}
        headers = {"Authorization": f"Bearer {next_student()}"}
        return session.post(platform.url("application", "/applications"), json=body, headers=headers, timeout=30)

    return [
        ("minimal Flask app: GET /ping", lambda s: s.get(f"{minimal_url}/ping", timeout=30), 200),
        (
            f"listing: GET /listings?q={word}",
            lambda s: s.get(platform.url("listing", f"/listings?q={word}"), timeout=30),
            200,
        ),
        ("application: POST /applications", apply, 201),
        (
            "certification: POST /verify",
            lambda s: s.post(platform.url("certification", "/verify"), json=credential, timeout=30),
            200,
        ),
    ]


def run(
    platform: Platform, minimal_url: str, listing_id: str, credential: dict, duration: float, threads: int
) -> list[LoadResult]:
    """Load each target in turn (the minimal app first and last, to show drift); return the results."""
    chosen = targets(platform, minimal_url, listing_id, credential, "dashboard")
    results = []
    for name, request, expect in [*chosen, chosen[0]]:
        results.append(load(name, request, expect, duration, threads))
    return results
