"""Listing search latency at 1k, 10k (and optionally 100k) listings, next to a find-by-id baseline.

    python -m bench.listing_search            # 1k and 10k; starts its own FerretDB unless STINT_MONGO_URL is set
    python -m bench.listing_search --100k     # adds 100k (several minutes on FerretDB)

Listings are inserted in bulk straight through the store (insert_many in batches) and every query
goes through the same handler the API calls. Prints p50/p95 per query shape and its ratio to the
baseline, then drops its database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also runnable as `python bench/listing_search.py`

from pymongo import MongoClient  # noqa: E402

from services.listing import domain, handlers, store  # noqa: E402

WORDS = [
    "data",
    "pipeline",
    "dashboard",
    "invoice",
    "parser",
    "mobile",
    "onboarding",
    "survey",
    "research",
    "marketing",
    "campaign",
    "brand",
    "api",
    "backend",
    "frontend",
    "design",
    "prototype",
    "audit",
    "report",
    "analysis",
    "forecast",
    "model",
    "chatbot",
    "accessibility",
    "translation",
    "content",
    "video",
    "podcast",
    "community",
    "outreach",
    "recruitment",
    "finance",
    "ledger",
    "inventory",
    "logistics",
]
SKILLS = ["Python", "SQL", "Figma", "React", "Excel", "Go", "Rust", "Copywriting", "SEO", "Pandas", "Kotlin", "Tableau"]
CATEGORIES = list(domain.CATEGORIES)
BATCH = 1000
SHAPES = {
    "newest page": {},
    "one word": {"q": "invoice"},
    "two words": {"q": "data dashboard"},
    "skill": {"skill": "figma"},
    "category+stipend+days": {"category": "data", "min_stipend": Decimal("10000"), "max_days": 14},
    "rare word (no hit)": {"q": "zyzzyva"},
}


def fake_listing(rng: random.Random, org: dict, now: datetime) -> dict:
    """A plausible listing document: mostly published and open, some drafts and closed ones."""
    title = " ".join(rng.sample(WORDS, 4)).capitalize()
    fields = {
        "title": title,
        "summary": " ".join(rng.sample(WORDS, 12)),
        "brief": " ".join(rng.choices(WORDS, k=120)),
        "deliverables": ["A working prototype", "A short report"],
        "skills": rng.sample(SKILLS, 3),
        "category": rng.choice(CATEGORIES),
        "duration_days": rng.randint(5, 28),
        "effort_hours": float(rng.randint(10, 60)),
        "stipend": {"amount": Decimal(rng.randrange(1000, 40_000, 500)), "currency": "INR"},
        "seats": rng.randint(1, 5),
        "apply_by": now + timedelta(days=rng.randint(1, 60)),
        "screening_questions": ["Why this stint?"],
    }
    created = now - timedelta(seconds=rng.randint(0, 90 * 86400))
    listing = domain.new_listing(str(uuid.uuid4()), fields, org, "bench", created)
    state = rng.random()
    if state < 0.75:
        listing.update(status=domain.PUBLISHED, published_at=created, org_status=domain.VERIFIED)
    elif state < 0.9:
        listing.update(status=domain.CLOSED, published_at=created, closed_reason=domain.CLOSED_BY_OWNER)
    return {**listing, "outbox": [], "outbox_pending": False}


def fill_to(db, size: int, rng: random.Random, now: datetime) -> float:
    """Insert listings until the collection holds `size`; return the seconds it took."""
    org = {"_id": "bench-org", "name": "Bench Org", "status": domain.VERIFIED}
    started = time.perf_counter()
    missing = size - store.listings(db).estimated_document_count()
    while missing > 0:
        batch = [fake_listing(rng, org, now) for _ in range(min(BATCH, missing))]
        store.listings(db).insert_many(batch, ordered=False)
        missing -= len(batch)
    store.listings_changed(db)  # inserted behind the store's back: the search models reload
    return time.perf_counter() - started


def timed(run, budget_seconds: float, min_runs: int = 3, max_runs: int = 30) -> list[float]:
    """Milliseconds of repeated runs, within a time budget."""
    samples: list[float] = []
    deadline = time.perf_counter() + budget_seconds
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() < deadline):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(db, budget: float) -> dict[str, tuple[float, float, int]]:
    """p50, p95 and hits of the baseline and of every query shape at the current size."""
    ids = [doc["_id"] for doc in store.listings(db).find({}, {"_id": 1}).limit(200)]
    results = {
        "baseline: find by _id": (*percentiles(timed(lambda: store.find_listing(db, random.choice(ids)), budget)), 1)
    }
    for name, filters in SHAPES.items():
        hits = len(handlers.search_listings(db, dict(filters), 20, None)[0])
        samples = timed(lambda filters=filters: handlers.search_listings(db, dict(filters), 20, None), budget)
        results[name] = (*percentiles(samples), hits)
    _, cursor = handlers.search_listings(db, {}, 20, None)
    if cursor:
        samples = timed(lambda: handlers.search_listings(db, {}, 20, cursor), budget)
        results["second page (cursor)"] = (*percentiles(samples), 20)

    def after_a_change():  # every api process's first search after a listing write reloads the published listings
        store.listings_changed(db)
        return handlers.search_listings(db, {"q": "dashboard"}, 20, None)

    results["one word, after a change"] = (*percentiles(timed(after_a_change, budget)), len(after_a_change()[0]))
    return results


def print_table(size: int, insert_seconds: float, results: dict) -> None:
    base = results["baseline: find by _id"][0]
    print(f"\n{size:,} listings (inserted in {insert_seconds:.1f} s)")
    print(f"  {'query':<28}{'p50 ms':>10}{'p95 ms':>10}{'hits':>6}{'p50 / baseline':>16}")
    for name, (p50, p95, hits) in results.items():
        print(f"  {name:<28}{p50:>10.1f}{p95:>10.1f}{hits:>6}{p50 / base:>15.1f}x")


def server_kind(client: MongoClient) -> str:
    info = client.admin.command("buildInfo")
    return f"FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else f"MongoDB {info['version']}"


def run(mongo_url: str, sizes: list[int], budget: float) -> None:
    """Fill, measure and print at each size, then drop the bench database."""
    client = MongoClient(mongo_url, tz_aware=True)
    db = client[f"stint_bench_listing_{uuid.uuid4().hex[:8]}"]
    rng, now = random.Random(42), datetime.now(UTC)
    print(f"server: {server_kind(client)} at {mongo_url}; database {db.name}")
    try:
        store.ensure_indexes(db)
        for size in sizes:
            insert_seconds = fill_to(db, size, rng, now)
            print_table(size, insert_seconds, measure(db, budget))
    finally:
        client.drop_database(db.name)
        client.close()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, provide a server, run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.listing_search", description=__doc__.split("\n")[0])
    parser.add_argument("--100k", dest="hundred_k", action="store_true", help="also measure at 100,000 listings")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds to spend per query shape and size")
    args = parser.parse_args(argv)
    sizes = [1_000, 10_000] + ([100_000] if args.hundred_k else [])
    started = time.perf_counter()
    if os.environ.get("STINT_MONGO_URL"):
        run(os.environ["STINT_MONGO_URL"], sizes, args.budget)
    else:
        from devservers import FerretServer

        with tempfile.TemporaryDirectory(prefix="stint-bench-") as tmp:
            ferret = FerretServer(Path(tmp) / "ferretdb")
            ferret.start()
            try:
                run(ferret.url, sizes, args.budget)
            finally:
                ferret.stop()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
