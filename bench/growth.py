"""How listing search and credential verification grow with data: 1k and 10k listings and credentials (100k on request).

Seeding goes straight into the services' stores of the running platform: listings through `bench.listing_search`'s
bulk insert (documents built by the listing domain, so they carry real search terms), credentials by copying one
credential the platform really issued under new ids (a new uuid, application and status position; signing 10k with
eddsa-rdfc-2022 costs ~10 ms each in canonicalisation alone, see docs/certification.md). Every measurement is an HTTP
request to the running api, one at a time, next to the by-id read of the same collection at the same size.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests
from pymongo import MongoClient

from bench.support import Platform, bearer, summary

BATCH = 1000


def timed_requests(send: Callable[[], requests.Response], samples: int, budget: float) -> dict:
    """Sequential requests, at least 3, at most `samples`, within about `budget` seconds: the milliseconds of the
    successful ones (summarised) and the status codes of the others (a 503: the database did not answer in time)."""
    ok: list[float] = []
    failed: Counter[int] = Counter()
    deadline = time.monotonic() + budget
    while len(ok) + failed.total() < samples and (len(ok) + failed.total() < 3 or time.monotonic() < deadline):
        started = time.perf_counter()
        response = send()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code == 200:
            ok.append(elapsed)
        else:
            failed[response.status_code] += 1
    return {**summary(ok), "failed": dict(failed)}


def seed_listings(db, size: int) -> float:
    """Fill the listing collection up to `size` documents; return the seconds it took."""
    from bench.listing_search import fill_to

    return fill_to(db, size, random.Random(size), datetime.now(UTC))


def seed_credentials(db, template_id: str, size: int) -> float:
    """Copy the issued credential `template_id` under new ids until `size` credentials exist; return the seconds."""
    record = db["credentials"].find_one({"_id": template_id})
    document = json.loads(db["credential_documents"].find_one({"_id": template_id})["json"])
    started = time.perf_counter()
    missing = size - db["credentials"].estimated_document_count()
    issued_at = datetime.now(UTC) - timedelta(days=1)
    while missing > 0:
        records, documents = [], []
        for _ in range(min(BATCH, missing)):
            new_id = str(uuid.uuid4())
            records.append(
                {
                    **record,
                    "_id": new_id,
                    "credential_id": f"urn:uuid:{new_id}",
                    "application_id": f"bench-{new_id}",
                    "student": {**record["student"], "id": f"bench-student-{new_id}"},
                    "status_list_id": "bench-filler",
                    "status_index": db_index(new_id),
                    "issued_at": issued_at,
                    "outbox": [],
                    "outbox_pending": False,
                }
            )
            documents.append({"_id": new_id, "json": json.dumps({**document, "id": f"urn:uuid:{new_id}"})})
        db["credential_documents"].insert_many(documents, ordered=False)
        # Each filler student's list, as issuing enters it (services/certification/store.py), so the probe student's
        # list is read by `_id` among as many students' lists as there are credentials.
        lists = [
            {"_id": r["student"]["id"], "credentials": [{"id": r["_id"], "issued_at": r["issued_at"]}]} for r in records
        ]
        db["student_credentials"].insert_many(lists, ordered=False)
        db["credentials"].insert_many(records, ordered=False)
        missing -= len(records)
    return time.perf_counter() - started


def db_index(new_id: str) -> int:
    """A filler status position from the id (unique with the filler list id, which no real credential uses)."""
    return uuid.UUID(new_id).int % (2**62)


def measure(platform: Platform, http: requests.Session, probes: dict, samples: int, budget: float) -> dict:
    """p50/p95 of each probe at the current size."""
    student = bearer(probes["student"])
    sends = {
        "listing by id (baseline)": lambda: http.get(
            platform.url("listing", f"/listings/{probes['listing_id']}"), timeout=300
        ),
        f"search ?q={probes['word']}": lambda: http.get(
            platform.url("listing", f"/listings?q={probes['word']}"), timeout=300
        ),
        "search newest page": lambda: http.get(platform.url("listing", "/listings"), timeout=300),
        "credential by id (baseline)": lambda: http.get(
            platform.url("certification", f"/credentials/{probes['credential_uuid']}"), timeout=300
        ),
        "POST /verify": lambda: http.post(
            platform.url("certification", "/verify"), json=probes["credential"], timeout=300
        ),
        "student's credentials (?mine=1)": lambda: http.get(
            platform.url("certification", "/credentials?mine=1"), headers=student, timeout=300
        ),
    }
    return {name: timed_requests(send, samples, budget) for name, send in sends.items()}


def run(platform: Platform, probes: dict, sizes: list[int], samples: int, budget: float) -> list[dict]:
    """Seed up to each size, measure, and return one entry per size."""
    client = MongoClient(platform.mongo_url, tz_aware=True)
    http = requests.Session()
    listings_db = client[platform.database("listing")]
    certification_db = client[platform.database("certification")]
    results = []
    try:
        for size in sizes:
            listing_seconds = seed_listings(listings_db, size)
            credential_seconds = seed_credentials(certification_db, probes["credential_uuid"], size)
            print(f"  seeded {size:,} listings in {listing_seconds:.0f} s, credentials in {credential_seconds:.0f} s")
            results.append(
                {
                    "size": size,
                    "listings": listings_db["listings"].estimated_document_count(),
                    "credentials": certification_db["credentials"].estimated_document_count(),
                    "seed_seconds": {"listings": listing_seconds, "credentials": credential_seconds},
                    "latency": measure(platform, http, probes, samples, budget),
                }
            )
    finally:
        client.close()
    return results
