"""Search answered from memory: each process keeps the published listings and refreshes them when they change.

FerretDB 1.24 (SQLite) pushes down only a filter that is exactly `{_id: ...}`: a search filter made FerretDB read
and parse every listing in Go, per request. Here a search costs one read by `_id` (the listings' generation, a
marker that every listing write in store.py replaces with a fresh value after writing) and, only when the marker
changed, one reload of the published listings. A reader that sees an unchanged marker has every write made before
it; a write that races the reload leaves a new marker, so the next search reloads again. That holds across gunicorn
workers and replicas alike, and on MongoDB as on FerretDB.

The filters below are the search's rules (every word, skill, category, stipend, currency, length), kept in one
place; the order is newest first by (`published_at`, `_id`) with the cursors of shared.pagination.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from pymongo.database import Database

from services.listing import store
from shared.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class Snapshot:
    """The published listings as of one generation, newest first."""

    generation: str
    listings: list[dict]


_snapshots: dict[str, Snapshot] = {}
_lock = threading.Lock()


def published(db: Database) -> list[dict]:
    """The published listings, newest first, from memory unless they changed since the last look."""
    generation = store.listings_generation(db)
    key = f"{db.client.address}/{db.name}"
    snapshot = _snapshots.get(key)
    if snapshot is None or snapshot.generation != generation:
        listings = store.published_listings(db)  # read after the marker: a later write leaves a newer marker
        listings.sort(key=lambda x: (x["published_at"], x["_id"]), reverse=True)
        snapshot = Snapshot(generation, listings)
        with _lock:
            _snapshots[key] = snapshot
    return snapshot.listings


def matches(listing: dict, filters: dict, terms: list[str], now: datetime) -> bool:
    """True when a published listing is open at `now` and matches every term and filter."""
    if listing["apply_by"] <= now or not set(terms) <= set(listing.get("search_terms") or ()):
        return False
    if filters.get("skill") and filters["skill"] not in (listing.get("skill_keys") or ()):
        return False
    if filters.get("category") and listing.get("category_key") != filters["category"]:
        return False
    if filters.get("min_stipend") is not None:
        amount = listing.get("stipend_amount")
        if amount is None or amount < float(filters["min_stipend"]):
            return False
    if filters.get("currency") and (listing.get("stipend") or {}).get("currency") != filters["currency"]:
        return False
    return filters.get("max_days") is None or listing["duration_days"] <= filters["max_days"]


def search_page(
    db: Database, filters: dict, terms: list[str], now: datetime, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """One page of the open published listings matching `terms` and `filters`, newest first, and the next cursor."""
    after = tuple(decode_cursor(cursor)) if cursor else None
    page: list[dict] = []
    for listing in published(db):
        if after is not None and (listing["published_at"], listing["_id"]) >= after:
            continue
        if matches(listing, filters, terms, now):
            page.append(listing)
            if len(page) > limit:
                break
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = encode_cursor([page[-1]["published_at"], page[-1]["_id"]])
    return [store.public(listing) for listing in page], next_cursor
