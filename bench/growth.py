"""How search, apply, a student's credentials and by-id reads grow with data: 1k and 10k listings, applications and
credentials (100k on request).

Seeding goes straight into the services' stores of the running platform, in bulk: listings through
`bench.listing_search`'s bulk insert (documents built by the listing domain, so they carry real search terms),
applications by copying one the platform really stored (a new id, student and open place each), credentials by
copying one credential the platform really issued under new ids (a new uuid, application and status position; signing
10k with eddsa-rdfc-2022 costs ~10 ms each in canonicalisation alone, see docs/certification.md). After a bulk load
each api process reloads its search model once, in the background (services/listing/search_model.py); the bench
waits until search finds a listing inserted last, so the search probes measure the reloaded model, and reports how
long that took. Every measurement is an HTTP request to the running api, one at a time, next to the by-id read of the
same collection at the same size.
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

from bench.support import Platform, bearer, summary, token

BATCH = 1000


def timed_requests(send: Callable[[], requests.Response], samples: int, budget: float, expect: int = 200) -> dict:
    """Sequential requests, at least 3, at most `samples`, within about `budget` seconds: the milliseconds of the
    successful ones (answered `expect`, summarised) and the status codes of the others (a 503: the database did not
    answer in time)."""
    ok: list[float] = []
    failed: Counter[int] = Counter()
    deadline = time.monotonic() + budget
    while len(ok) + failed.total() < samples and (len(ok) + failed.total() < 3 or time.monotonic() < deadline):
        started = time.perf_counter()
        response = send()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code == expect:
            ok.append(elapsed)
        else:
            failed[response.status_code] += 1
    return {**summary(ok), "failed": dict(failed)}


def seed_listings(db, size: int) -> tuple[float, str]:
    """Fill the listing collection up to `size` documents, the last of them found by a word of its own; return the
    seconds it took and that word."""
    from bench.listing_search import fake_listing, fill_to
    from services.listing import domain, store

    rng, now = random.Random(size), datetime.now(UTC)
    seconds = fill_to(db, size - 1, rng, now)
    word = f"growthmark{size}"
    last = fake_listing(rng, {"_id": "bench-org", "name": "Bench Org", "status": domain.VERIFIED}, now)
    last.update(status=domain.PUBLISHED, org_status=domain.VERIFIED, published_at=now, apply_by=now + timedelta(30))
    last["search_terms"] = sorted({*last["search_terms"], word})
    store.listings(db).insert_one(last)
    store.listings_changed(db)  # inserted behind the store's back: the search models reload
    return seconds, word


def search_reloaded(platform: Platform, http: requests.Session, word: str, timeout: float = 600) -> float:
    """Seconds until several searches in a row (so every api process) find the listing seeded last."""
    started, found_in_a_row = time.monotonic(), 0
    while found_in_a_row < 6:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"search did not find {word!r} within {timeout:.0f} s")
        response = http.get(platform.url("listing", f"/listings?q={word}"), timeout=300)
        found = response.status_code == 200 and bool(response.json()["items"])
        found_in_a_row = found_in_a_row + 1 if found else 0
        if not found:
            time.sleep(0.5)
    return time.monotonic() - started


def seed_applications(db, template_id: str, size: int) -> float:
    """Copy the stored application `template_id` until `size` applications exist, each by a new student holding its
    own open place; return the seconds."""
    from services.application import store

    record = db[store.APPLICATIONS].find_one({"_id": template_id})
    started = time.perf_counter()
    missing = size - db[store.APPLICATIONS].estimated_document_count()
    while missing > 0:
        batch = []
        for _ in range(min(BATCH, missing)):
            new_id, student = str(uuid.uuid4()), f"bench-student-{uuid.uuid4()}"
            batch.append(
                {
                    **record,
                    "_id": new_id,
                    "student_id": student,
                    store.OPEN_PLACE: f"{student}#1",
                    "outbox": [],
                    "outbox_pending": False,
                }
            )
        db[store.APPLICATIONS].insert_many(batch, ordered=False)
        missing -= len(batch)
    return time.perf_counter() - started


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
    applicant = bearer(probes["applicant"])

    def apply():  # by a new student each time, as the throughput's apply target
        body = {"listing_id": probes["listing_id"], "cover_note": "I would like to do this.", "answers": []}
        url = platform.url("application", "/applications")
        return http.post(url, json=body, headers=bearer(token("student")), timeout=300)

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
        "application by id (baseline)": lambda: http.get(
            platform.url("application", f"/applications/{probes['application_id']}"), headers=applicant, timeout=300
        ),
    }

    def apply_again():  # by the probe's applicant, who applied to this listing before: refused
        body = {"listing_id": probes["listing_id"], "cover_note": "Me again.", "answers": []}
        return http.post(platform.url("application", "/applications"), json=body, headers=applicant, timeout=300)

    results = {name: timed_requests(send, samples, budget) for name, send in sends.items()}
    results["apply (POST /applications)"] = timed_requests(apply, samples, budget, expect=201)
    results["apply again (409 already applied)"] = timed_requests(apply_again, samples, budget, expect=409)
    return results


def run(platform: Platform, probes: dict, sizes: list[int], samples: int, budget: float) -> list[dict]:
    """Seed up to each size, measure, and return one entry per size."""
    client = MongoClient(platform.mongo_url, tz_aware=True)
    http = requests.Session()
    listings_db = client[platform.database("listing")]
    applications_db = client[platform.database("application")]
    certification_db = client[platform.database("certification")]
    results = []
    try:
        for size in sizes:
            listing_seconds, word = seed_listings(listings_db, size)
            application_seconds = seed_applications(applications_db, probes["application_id"], size)
            credential_seconds = seed_credentials(certification_db, probes["credential_uuid"], size)
            reload_seconds = search_reloaded(platform, http, word)
            print(
                f"  seeded {size:,} listings in {listing_seconds:.0f} s, applications in {application_seconds:.0f} s,"
                f" credentials in {credential_seconds:.0f} s; search found the last one after {reload_seconds:.0f} s",
                flush=True,
            )
            results.append(
                {
                    "size": size,
                    "listings": listings_db["listings"].estimated_document_count(),
                    "applications": applications_db["applications"].estimated_document_count(),
                    "credentials": certification_db["credentials"].estimated_document_count(),
                    "seed_seconds": {
                        "listings": listing_seconds,
                        "applications": application_seconds,
                        "credentials": credential_seconds,
                    },
                    "search_reload_seconds": reload_seconds,
                    "latency": measure(platform, http, probes, samples, budget),
                }
            )
            p50s = ", ".join(f"{name} {m['p50']:.1f}" for name, m in results[-1]["latency"].items())
            print(f"  p50 ms at {size:,}: {p50s}", flush=True)  # kept if a larger size does not finish
    finally:
        client.close()
    return results
