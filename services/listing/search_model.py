"""Search answered from memory: each process keeps the published listings and refreshes them when they change.

FerretDB 1.24 (SQLite) pushes down only a filter that is exactly `{_id: ...}`: a search filter made FerretDB read
and parse every listing in Go, per request. Here a search costs one read by `_id` of the listings' marker, which
every listing write in store.py renews after writing (a fresh generation, and the listing's id in a list of recent
changes). When the marker changed, the process re-reads by `_id` only the listings changed since its own
generation, or reloads them all when it is further behind than the list reaches. A reader that sees an unchanged
marker has every write made before it; a write that races the re-read leaves a newer marker, so the next search
looks again. That holds across gunicorn workers and replicas alike, and on MongoDB as on FerretDB. The one
exception is a full reload (a bulk change, or a process far behind), which takes seconds at 10,000 listings: it runs
in the background, and searches answer from the previous snapshot until it is done (`published`).

The filters below are the search's rules (every word, skill, category, stipend, currency, length), kept in one
place; the order is newest first by (`published_at`, `_id`) with the cursors of shared.pagination.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from pymongo.database import Database

from services.listing import store
from shared.errors import Unavailable
from shared.pagination import cut_page, decode_cursor


@dataclass(frozen=True)
class Snapshot:
    """The published listings as of one generation: by id, and newest first."""

    generation: str | None
    by_id: dict[str, dict]
    newest_first: list[dict]


@dataclass
class Load:
    """A full load of the published listings running in the background: done when `finished` is set."""

    finished: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


# Beyond this many changed listings, one reload of them all costs less than reading each by `_id`.
MAX_REREAD = 50
# How long a search waits for a full load: the first load of a process (nothing to answer from before it), and a
# reload (the previous snapshot answers meanwhile). The first stays under gunicorn's 30 s worker timeout.
FIRST_LOAD_WAIT = 20.0
RELOAD_WAIT = 2.0
_snapshots: dict[str, Snapshot] = {}
_loads: dict[str, Load] = {}
_lock = threading.Lock()


def published(db: Database) -> list[dict]:
    """The published listings, newest first, from memory unless they changed since the last look.

    A few changed listings are re-read by `_id` before answering. A full load (the process's first, or after a bulk
    change, or when it is further behind than the marker reaches) reads every listing, which FerretDB parses one by
    one (about 0.3 ms each on this machine, seconds at 10,000): it runs once per process in a background thread,
    and a search waits for it up to RELOAD_WAIT, then answers from the previous snapshot until it is done (a load that
    failed, e.g. on the socket timeout of a busy database, is started again by the next search); with no previous
    snapshot it waits up to FIRST_LOAD_WAIT and then answers 503 (retry shortly) while the load goes on.
    """
    key = f"{db.client.address}/{db.name}"
    for _ in range(2):  # a second look after a full load catches the writes made while it ran
        marker = store.listings_marker(db)
        snapshot = _snapshots.get(key)
        if snapshot is not None and snapshot.generation == marker.get("generation"):
            return snapshot.newest_first
        # Read after the marker: a write made later leaves a newer marker, so the next look catches it.
        changed = _changed_since(store.listing_changes(db), snapshot.generation) if snapshot is not None else None
        if changed is not None:
            return _reread(db, key, snapshot, marker, changed).newest_first
        load = _start_load(db, key)
        done = load.finished.wait(RELOAD_WAIT if snapshot is not None else FIRST_LOAD_WAIT)
        if snapshot is not None and (not done or load.error is not None):
            return snapshot.newest_first  # a bulk change shows once a load is done (a failed one: the next search's)
        if not done:
            raise Unavailable("search is loading the listings; retry shortly")
        if load.error is not None:
            raise load.error
    return _snapshots[key].newest_first


def _reread(db: Database, key: str, snapshot: Snapshot, marker: dict, changed: set[str]) -> Snapshot:
    """The snapshot with the `changed` listings re-read by `_id`, as of the marker's generation."""
    by_id = dict(snapshot.by_id)
    for listing_id in changed:
        listing = store.published_listing(db, listing_id)
        if listing is None:
            by_id.pop(listing_id, None)
        else:
            by_id[listing_id] = listing
    return _install(key, marker.get("generation"), by_id)


def _install(key: str, generation: str | None, by_id: dict[str, dict]) -> Snapshot:
    newest_first = sorted(by_id.values(), key=lambda x: (x["published_at"], x["_id"]), reverse=True)
    snapshot = Snapshot(generation, by_id, newest_first)
    with _lock:
        _snapshots[key] = snapshot
    return snapshot


def _start_load(db: Database, key: str) -> Load:
    """The full load of this database running in this process, started unless one already runs."""
    with _lock:
        load = _loads.get(key)
        if load is not None:
            return load
        load = _loads[key] = Load()
    threading.Thread(target=_load_all, args=(db, key, load), name=f"search-load {db.name}", daemon=True).start()
    return load


def _load_all(db: Database, key: str, load: Load) -> None:
    try:
        marker = store.listings_marker(db)  # before the listings: a write made during the load leaves a newer one
        _install(key, marker.get("generation"), {listing["_id"]: listing for listing in store.published_listings(db)})
    except Exception as exc:  # noqa: BLE001 - the waiting search raises it (a database error answers 503)
        load.error = exc
    finally:
        with _lock:
            _loads.pop(key, None)
        load.finished.set()


def _changed_since(changes: list[dict], generation: str | None) -> set[str] | None:
    """The listings changed after `generation`, or None when the changes kept do not reach back that far."""
    positions = [i for i, change in enumerate(changes) if change["generation"] == generation]
    if not positions:
        return None
    changed = {change["listing_id"] for change in changes[positions[0] + 1 :]}
    if None in changed or len(changed) > MAX_REREAD:
        return None  # a bulk change, or so many that one reload costs less than reading each
    return changed


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
    """One page of the open published listings matching `terms` and `filters`, newest first, and the next cursor.
    The listings are the snapshot's own dicts, never changed while kept (a changed listing is a new dict): show them
    through the API's schema (schemas.listing_page), never change them."""
    after = tuple(decode_cursor(cursor)) if cursor else None
    page: list[dict] = []
    for listing in published(db):
        if after is not None and (listing["published_at"], listing["_id"]) >= after:
            continue
        if matches(listing, filters, terms, now):
            page.append(listing)
            if len(page) > limit:
                break
    page, next_cursor = cut_page(page, limit, "published_at")
    return page, next_cursor
