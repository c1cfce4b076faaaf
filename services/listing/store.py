"""The listing service's collections (orgs, listings, invitations), their indexes and queries."""

from __future__ import annotations

import uuid
from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from services.listing.domain import CATEGORIES, PUBLISHED
from shared.locks import document_lock
from shared.outbox import (
    ensure_outbox_index,
    find_one_and_update_with_events,
    insert_aggregate,
    update_with_events,
)
from shared.pagination import paginate

ORGS, LISTINGS, INVITATIONS = "orgs", "listings", "invitations"
# One marker document per collection whose readers keep it in memory: {_id: "listings", generation, changes}
SEARCH_GENERATION = "generations"
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
    """Store a new listing."""
    insert_aggregate(listings(db), listing)
    listings_changed(db, listing["_id"])


def update_listing(db: Database, listing: dict, changes: dict, events: list[dict]) -> bool:
    """Apply `changes` (and store `events`) unless someone changed the listing since it was read."""
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
    """Published listings whose deadline has passed, oldest deadline first."""
    query = {"status": PUBLISHED, "apply_by": {"$lte": now}}
    return list(listings(db).find(query).sort("apply_by", ASCENDING).limit(EXPIRED_BATCH))


# ---- the search's source (services/listing/search_model.py keeps it in memory) ----------------


def published_listings(db: Database) -> list[dict]:
    """Every published listing, with the fields the search matches on."""
    return list(listings(db).find({"status": PUBLISHED}, {"outbox": 0, "outbox_pending": 0}))


def public(listing: dict) -> dict:
    """A listing without the service's bookkeeping (what PUBLIC_PROJECTION leaves out)."""
    return {name: value for name, value in listing.items() if name not in PUBLIC_PROJECTION}


def listings_marker(db: Database) -> dict:
    """The listings' change marker: {generation, changes: [{generation, listing_id}, ...]} (empty before any write)."""
    return db[SEARCH_GENERATION].find_one({"_id": LISTINGS}) or {}


def published_listing(db: Database, listing_id: str) -> dict | None:
    """One listing with the fields the search matches on, when it is published."""
    listing = listings(db).find_one({"_id": listing_id}, {"outbox": 0, "outbox_pending": 0})
    return listing if listing and listing["status"] == PUBLISHED else None


def listings_changed(db: Database, listing_id: str | None = None) -> None:
    """Record that a listing changed (None: any number of them), after writing it: each process's search model
    re-reads that listing (or reloads them all) on its next look.

    The marker keeps the last MARKED_CHANGES changes under a fresh generation; it is rewritten under its own
    document lock (shared/locks.py), so no change is lost to FerretDB's read-modify-write.
    """
    markers = db[SEARCH_GENERATION]
    with document_lock(markers, LISTINGS):
        changes = listings_marker(db).get("changes", [])
        generation = uuid.uuid4().hex
        changes = [*changes, {"generation": generation, "listing_id": listing_id}][-MARKED_CHANGES:]
        marker = {"_id": LISTINGS, "generation": generation, "changes": changes}
        markers.replace_one({"_id": LISTINGS}, marker, upsert=True)


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
