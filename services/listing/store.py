"""The listing service's collections (orgs, listings, invitations), their indexes and queries."""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, date, datetime, timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from services.listing.domain import CATEGORIES, CLOSED, MAX_OPEN_DAYS, PUBLISHED
from shared.fields import day_in_india
from shared.locks import document_lock
from shared.outbox import (
    ensure_outbox_index,
    find_one_and_update_with_events,
    insert_aggregate,
    update_with_events,
)
from shared.owner_index import OwnerIndex
from shared.pagination import paginate

ORGS, LISTINGS, INVITATIONS = "orgs", "listings", "invitations"
# One marker document per collection whose readers keep it in memory, {_id: "listings", generation}, and its recent
# changes beside it, {_id: "listings/changes", changes: [{generation, listing_id}, ...]}
SEARCH_GENERATION = "generations"
CHANGES = "listings/changes"
# How many recent changes the marker lists: a reader further behind reloads everything.
MARKED_CHANGES = 500
# Per organisation, its students' open payment disputes (learnt from stint.application): {_id: org, open: {app: since}}
DISPUTES = "payment_disputes"

# Bookkeeping that never leaves the service: the outbox, the search index, who holds a seat.
HIDDEN_FIELDS = (
    "outbox",
    "outbox_pending",
    "outbox_lease_until",
    "search_terms",
    "skill_keys",
    "category_key",
    "stipend_amount",
)
ORG_PROJECTION = {"outbox": 0, "outbox_pending": 0, "outbox_lease_until": 0}
PUBLIC_PROJECTION = dict.fromkeys(HIDDEN_FIELDS, 0) | {"accepted_applications": 0, "released_applications": 0}
# Deadline job batch: enough to catch up quickly, small enough to keep each pass short.
EXPIRED_BATCH = 200
# Deadline day (the India date of apply_by) and bucket, "2026-12-10/07" → the published listings due that day, entries
# {id, apply_by}, read by _id (shared/owner_index.py says why): the deadline job reads a few days, not every listing.
DEADLINE_INDEX = "deadline_index"
# Each day's listings are spread over this many documents by a hash of their id: a publish rewrites one document
# under its lock, ~160 ms at 1,250 entries and ~500 ms at 5,000 on FerretDB, and a plain-date deadline puts a
# whole day's listings at one moment; the job reads 16 small documents per day instead of one large one.
DEADLINE_BUCKETS = 16
# {_id: CLEARED, day}: every deadline day up to `day` has no entry left and none can join it.
CLEARED = "~cleared"
# A day is cleared only once it ended this long ago: a writer enters a listing under a day no earlier than its own
# "now" (a deadline must be ahead to publish or be set), so nothing joins a day that ended before.
SETTLED_AFTER = timedelta(days=1)
# An entry whose listing is not published (yet) is dropped only this long after its deadline: the publish it was
# entered for may still be on its way.
UNPUBLISHED_GRACE = timedelta(minutes=10)


def orgs(db: Database) -> Collection:
    """Organisations, keyed by the org id of their members' tokens."""
    return db[ORGS]


def listings(db: Database) -> Collection:
    """Listings, keyed by a uuid4 string."""
    return db[LISTINGS]


def ensure_indexes(db: Database) -> None:
    """Create the indexes the queries below rely on (idempotent)."""
    collection = listings(db)
    newest = [("published_at", DESCENDING), ("_id", DESCENDING)]
    collection.create_index([("status", ASCENDING), *newest], name="search_newest")
    collection.create_index([("status", ASCENDING), ("apply_by", ASCENDING)], name="deadline")
    index_existing_deadlines(db)
    collection.create_index(
        [("org_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], name="org_listings"
    )
    ensure_outbox_index(collection)
    ensure_outbox_index(orgs(db))
    orgs(db).create_index([("status", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], name="by_status")
    ensure_outbox_index(invitations(db))
    invitations(db).create_index(
        [("org_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], name="org_invitations"
    )


def outbox_collections(db: Database) -> list[Collection]:
    """The collections whose documents carry pending events."""
    return [orgs(db), listings(db), invitations(db)]


def invitations(db: Database) -> Collection:
    """Invitations to join an organisation, keyed by a uuid4 string (the link's secret part)."""
    return db[INVITATIONS]


# ---- organisations ---------------------------------------------------------------------


def find_org(db: Database, org_id: str) -> dict | None:
    """One organisation, or None."""
    return orgs(db).find_one({"_id": org_id})


def insert_org(db: Database, org: dict) -> None:
    """Store a new organisation (DuplicateKeyError when it already exists)."""
    insert_aggregate(orgs(db), org)


def update_org(db: Database, org_id: str, guard: dict, changes: dict, events: list[dict]) -> dict | None:
    """Apply `changes` (and store `events`) when the org matches `guard`; the new org or None."""
    return find_one_and_update_with_events(
        orgs(db), {"_id": org_id, **guard}, {"$set": changes}, events, return_document=True
    )


def org_page_by_status(db: Database, status: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """One page of organisations in `status` (an administrator's queue), newest first."""
    return paginate(orgs(db), {"status": status}, limit, cursor, projection=ORG_PROJECTION)


# ---- invitations -----------------------------------------------------------------------


def find_invitation(db: Database, invitation_id: str) -> dict | None:
    """One invitation, or None."""
    return invitations(db).find_one({"_id": invitation_id})


def insert_invitation(db: Database, invitation: dict) -> None:
    """Store a new invitation with its pending event."""
    insert_aggregate(invitations(db), invitation)


def update_invitation(db: Database, invitation: dict, changes: dict) -> dict | None:
    """Apply `changes` when the invitation is still as read (pending); the new invitation or None."""
    return find_one_and_update_with_events(
        invitations(db),
        {"_id": invitation["_id"], "status": invitation["status"]},
        {"$set": changes},
        [],
        return_document=True,
    )


def invitation_page(db: Database, org_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """One page of an organisation's invitations, newest first."""
    return paginate(invitations(db), {"org_id": org_id}, limit, cursor, projection=ORG_PROJECTION)


# ---- listings --------------------------------------------------------------------------


def find_listing(db: Database, listing_id: str, public: bool = False) -> dict | None:
    """One listing, or None; `public` leaves out the service's bookkeeping."""
    return listings(db).find_one({"_id": listing_id}, PUBLIC_PROJECTION if public else None)


def insert_listing(db: Database, listing: dict) -> None:
    """Store a new listing (a published one first entered under its deadline day)."""
    if listing["status"] == PUBLISHED:
        _enter_deadline(db, listing)
    insert_aggregate(listings(db), listing)
    listings_changed(db, listing["_id"])


def update_listing(db: Database, listing: dict, changes: dict, events: list[dict]) -> bool:
    """Apply `changes` (and store `events`) unless someone changed the listing since it was read.

    A listing published, or given a new deadline while published, is first entered under its deadline day. It is
    not taken out of its old day: a writer racing another could take out the other's entry, and the deadline job
    drops a stale entry when it re-reads the listing."""
    after = {**listing, **changes}
    if after["status"] == PUBLISHED and (listing["status"] != PUBLISHED or "apply_by" in changes):
        _enter_deadline(db, after)
    result = update_with_events(
        listings(db), {"_id": listing["_id"], "version": listing["version"]}, {"$set": changes}, events
    )
    if result.matched_count:
        listings_changed(db, listing["_id"])
    return result.matched_count == 1


def listings_of_org(db: Database, org_id: str, statuses: tuple[str, ...]) -> list[dict]:
    """Every listing of an organisation in one of `statuses`."""
    return list(listings(db).find({"org_id": org_id, "status": {"$in": list(statuses)}}))


def listings_outside_categories(db: Database) -> list[dict]:
    """Listings whose category is not a work domain's code (written before the domains existed)."""
    return list(listings(db).find({"category": {"$nin": list(CATEGORIES)}}))


def expired_listings(db: Database, now: datetime) -> list[dict]:
    """Published listings whose deadline has passed, oldest deadline first (up to EXPIRED_BATCH).

    Read from the deadline days since the last cleared one up to today (each day's index document and each listing
    by `_id`), tidying as it goes: an entry whose listing closed, or got another deadline (entered again under it
    if need be), is dropped, and a day with nothing left becomes the cleared day once it is settled. A listing
    returned stays entered until a later pass finds it closed. Until the listings published before the index
    existed are entered, the old query (a scan on FerretDB)."""
    index = _deadline_index(db)
    if not index.complete():
        query = {"status": PUBLISHED, "apply_by": {"$lte": now}}
        return list(listings(db).find(query).sort("apply_by", ASCENDING).limit(EXPIRED_BATCH))
    marker = index.collection.find_one({"_id": CLEARED})
    cleared = date.fromisoformat(marker["day"]) if marker else day_in_india(now - timedelta(days=MAX_OPEN_DAYS + 1))
    settled, today = day_in_india(now - SETTLED_AFTER), day_in_india(now)
    due: list[dict] = []
    rereads, still_clear, new_cleared = 2 * EXPIRED_BATCH, True, cleared
    day = cleared + timedelta(days=1)
    while day <= today and len(due) < EXPIRED_BATCH and rereads > 0:
        keys = [_deadline_key(day, bucket) for bucket in range(DEADLINE_BUCKETS)]
        entries = [(key, entry) for key in keys for entry in index.entries([key])]
        entries.sort(key=lambda pair: (pair[1]["apply_by"], pair[1]["id"]))  # oldest deadline first
        stale: dict[str, list[dict]] = {}
        left = len(entries)
        for key, entry in entries:
            if entry["apply_by"] > now or len(due) >= EXPIRED_BATCH or rereads <= 0:
                break
            rereads -= 1
            listing = listings(db).find_one({"_id": entry["id"]})
            if _deadline_passed(db, entry, listing, now):
                due.append(listing)
            if not _keeps_entry(entry, listing, now):
                stale.setdefault(key, []).append(entry)
                left -= 1
        for key, entries_gone in stale.items():
            index.discard(key, entries_gone)
        still_clear = still_clear and left == 0 and day < settled
        if still_clear:
            new_cleared = day
        day += timedelta(days=1)
    if new_cleared != cleared:
        index.collection.update_one({"_id": CLEARED}, {"$set": {"day": new_cleared.isoformat()}}, upsert=True)
    return sorted(due, key=lambda listing: (listing["apply_by"], listing["_id"]))


def _deadline_passed(db: Database, entry: dict, listing: dict | None, now: datetime) -> bool:
    """Whether the entry's listing is published and past its deadline; one whose deadline moved is entered under
    its new one first (the writer did, unless a backfill's late write replaced its entry)."""
    if listing is None or listing["status"] != PUBLISHED:
        return False
    if listing["apply_by"] != entry["apply_by"]:
        _enter_deadline(db, listing)
    return listing["apply_by"] <= now


def _keeps_entry(entry: dict, listing: dict | None, now: datetime) -> bool:
    """Whether an entry (its deadline passed) must stay: its listing is published with this deadline or is due
    anyway (kept until a later pass finds it closed), or not published yet and the publish it was entered for may
    still be on its way. A published listing's entry under a deadline it no longer has goes: it has a current one."""
    if listing is None or listing["status"] not in (PUBLISHED, CLOSED):
        return entry["apply_by"] > now - UNPUBLISHED_GRACE
    return listing["status"] == PUBLISHED and (listing["apply_by"] == entry["apply_by"] or listing["apply_by"] <= now)


def _deadline_index(db: Database) -> OwnerIndex:
    return OwnerIndex(db[DEADLINE_INDEX], "apply_by")


def deadline_key(listing_id: str, apply_by: datetime) -> str:
    """The index document a listing's deadline is entered under: its date in India and the id's bucket."""
    return _deadline_key(day_in_india(apply_by), zlib.crc32(listing_id.encode()) % DEADLINE_BUCKETS)


def _deadline_key(day: date, bucket: int) -> str:
    return f"{day.isoformat()}/{bucket:02d}"


def _deadline_entry(listing: dict) -> dict:
    return {"id": listing["_id"], "apply_by": listing["apply_by"]}


def _enter_deadline(db: Database, listing: dict) -> None:
    _deadline_index(db).add(deadline_key(listing["_id"], listing["apply_by"]), [_deadline_entry(listing)])


def index_existing_deadlines(db: Database) -> None:
    """Enter the listings published before the deadline index existed (once per database); the job then starts
    from the day before the oldest of their deadlines."""
    index = _deadline_index(db)
    if index.complete():
        return
    published = list(listings(db).find({"status": PUBLISHED}, {"apply_by": 1}))
    oldest = min((listing["apply_by"] for listing in published), default=datetime.now(UTC))
    start = (day_in_india(oldest) - timedelta(days=1)).isoformat()
    marker = index.collection.find_one({"_id": CLEARED})
    if marker is None or marker["day"] > start:
        index.collection.update_one({"_id": CLEARED}, {"$set": {"day": start}}, upsert=True)
    index.backfill(
        (deadline_key(listing["_id"], listing["apply_by"]), _deadline_entry(listing)) for listing in published
    )


# ---- the search's source (services/listing/search_model.py keeps it in memory) ----------------


def published_listings(db: Database) -> list[dict]:
    """Every published listing, with the fields the search matches on."""
    return list(listings(db).find({"status": PUBLISHED}, {"outbox": 0, "outbox_pending": 0}))


def public(listing: dict) -> dict:
    """A listing without the service's bookkeeping (what PUBLIC_PROJECTION leaves out)."""
    return {name: value for name, value in listing.items() if name not in PUBLIC_PROJECTION}


def listings_marker(db: Database) -> dict:
    """The listings' change marker, {generation} (empty before any write): read on every search, so it is kept
    small; the recent changes it stands for are a document of their own (listing_changes)."""
    return db[SEARCH_GENERATION].find_one({"_id": LISTINGS}, {"generation": 1}) or {}


def listing_changes(db: Database) -> list[dict]:
    """The last MARKED_CHANGES changes, oldest first: [{generation, listing_id}, ...]; read only by a search model
    whose snapshot is behind the marker. As new as the marker read before it, or newer (written first)."""
    document = db[SEARCH_GENERATION].find_one({"_id": CHANGES}) or {}
    return document.get("changes") or []


def published_listing(db: Database, listing_id: str) -> dict | None:
    """One listing with the fields the search matches on, when it is published."""
    listing = listings(db).find_one({"_id": listing_id}, {"outbox": 0, "outbox_pending": 0})
    return listing if listing and listing["status"] == PUBLISHED else None


def listings_changed(db: Database, listing_id: str | None = None) -> None:
    """Record that a listing changed (None: any number of them), after writing it: each process's search model
    re-reads that listing (or reloads them all) on its next look.

    The changes (the last MARKED_CHANGES, about 50 KB once full) are written first and the marker's fresh generation
    after, both under the marker's document lock (shared/locks.py), so no change is lost to FerretDB's
    read-modify-write and a search that reads the marker then the changes finds every change up to that generation.
    A search reads only the marker when nothing changed: with the changes in it, each search read 50 KB.
    """
    markers = db[SEARCH_GENERATION]
    with document_lock(markers, LISTINGS):
        generation = uuid.uuid4().hex
        changes = [*listing_changes(db), {"generation": generation, "listing_id": listing_id}][-MARKED_CHANGES:]
        markers.replace_one({"_id": CHANGES}, {"_id": CHANGES, "changes": changes}, upsert=True)
        markers.replace_one({"_id": LISTINGS}, {"_id": LISTINGS, "generation": generation}, upsert=True)


def org_page(db: Database, org_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """One page of an organisation's own listings (drafts included), newest first."""
    return paginate(listings(db), {"org_id": org_id}, limit, cursor, projection=PUBLIC_PROJECTION)


# ---- payment disputes (a read model of stint.payment events) ----------------------------


def open_disputes(db: Database, org_id: str) -> dict[str, datetime]:
    """The organisation's open payment disputes: application id -> when it was raised."""
    document = db[DISPUTES].find_one({"_id": org_id}) or {}
    return document.get("open") or {}


def open_dispute(db: Database, org_id: str, application_id: str, since: datetime) -> None:
    """Remember an open dispute (under the document's lock: FerretDB's updates are read-modify-write)."""
    update_with_events(db[DISPUTES], {"_id": org_id}, {"$set": {f"open.{application_id}": since}}, [], upsert=True)


def close_dispute(db: Database, org_id: str, application_id: str) -> None:
    """Forget a dispute that was settled (a no-op when none was open)."""
    update_with_events(db[DISPUTES], {"_id": org_id}, {"$unset": {f"open.{application_id}": ""}}, [])
