"""Use cases of the listing service, called by the HTTP views and by the worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.listing import domain, search_model, store
from shared.errors import Conflict, NotFound
from shared.events import Event, new_event
from shared.outbox import new_document_with_events

log = structlog.get_logger(__name__)

SOURCE = "listing"
# Optimistic concurrency: a change re-reads and retries when another writer got there first.
MAX_ATTEMPTS = 5


def now() -> datetime:
    """The current time at the precision the database keeps."""
    return domain.to_millis(datetime.now(UTC))


# ---- organisations ---------------------------------------------------------------------


def register_org(db: Database, org_id: str, profile: dict, contact_email: str, user_id: str, traceparent=None) -> dict:
    """Create the caller's organisation (pending, announced) or update its profile."""
    moment = now()
    if store.find_org(db, org_id) is None:
        org = domain.new_org(org_id, profile, contact_email, user_id, moment)
        event = new_event("stint.org.registered.v1", SOURCE, org_id, domain.org_snapshot(org), traceparent)
        try:
            store.insert_org(db, new_document_with_events(org, [event]))
            log.info("org_registered", org_id=org_id)
            return org
        except DuplicateKeyError:
            pass  # a concurrent first registration won; ours becomes an update
    org = store.update_org(db, org_id, {}, {**profile, "updated_at": moment}, [])
    _refresh_org_in_listings(db, org, traceparent)
    return org


def verify_org(db: Database, org_id: str, admin_id: str, traceparent=None) -> dict:
    """Mark an organisation verified (announced once); verifying again changes nothing."""
    org = get_org(db, org_id)
    if org["status"] == domain.VERIFIED:
        return org
    moment = now()
    changes = {"status": domain.VERIFIED, "verified_at": moment, "verified_by": admin_id, "updated_at": moment}
    event = new_event("stint.org.verified.v1", SOURCE, org_id, domain.org_snapshot({**org, **changes}), traceparent)
    verified = store.update_org(db, org_id, {"status": domain.PENDING}, changes, [event])
    if verified is None:  # another admin verified it meanwhile
        return get_org(db, org_id)
    log.info("org_verified", org_id=org_id, admin=admin_id)
    _refresh_org_in_listings(db, verified, traceparent)
    return verified


def get_org(db: Database, org_id: str) -> dict:
    """One organisation, or NotFound."""
    org = store.find_org(db, org_id)
    if org is None:
        raise NotFound(f"no organisation {org_id!r}", code="org_not_found")
    return org


def _refresh_org_in_listings(db: Database, org: dict, traceparent) -> None:
    """Carry the organisation's name and status into its open listings (published ones announce it)."""
    moment = now()
    for listing in store.listings_of_org(db, org["_id"], domain.EDITABLE):
        _change(db, listing, lambda current: domain.rename_org(current, org, moment), traceparent)


# ---- listings: the owner's actions -----------------------------------------------------


def create_listing(
    db: Database, org_id: str, fields: dict, user_id: str, floor: domain.StipendFloor = domain.StipendFloor()
) -> dict:
    """A new draft listing of the caller's registered organisation."""
    org = store.find_org(db, org_id)
    if org is None:
        raise Conflict("register your organisation (PUT /orgs/me) before writing listings", code="org_not_registered")
    listing = domain.new_listing(str(uuid.uuid4()), fields, org, user_id, now(), floor)
    store.insert_listing(db, new_document_with_events(listing, []))
    log.info("listing_created", listing_id=listing["_id"], org_id=org_id)
    return listing


def edit_listing(
    db: Database,
    listing_id: str,
    org_id: str,
    changes: dict,
    traceparent=None,
    floor: domain.StipendFloor = domain.StipendFloor(),
) -> dict:
    """Apply an owner's partial edit; a published listing announces its new state."""
    listing = get_owned_listing(db, listing_id, org_id)
    moment = now()
    return _change(db, listing, lambda current: domain.edit(current, changes, moment, floor), traceparent)


def publish_listing(
    db: Database, listing_id: str, org_id: str, traceparent=None, floor: domain.StipendFloor = domain.StipendFloor()
) -> dict:
    """Publish a draft of a verified organisation; publishing again changes nothing."""
    listing = get_owned_listing(db, listing_id, org_id)
    org = get_org(db, org_id)
    moment = now()
    return _change(db, listing, lambda current: domain.publish(current, org, moment, floor), traceparent)


def close_listing(db: Database, listing_id: str, org_id: str, traceparent=None) -> dict:
    """Close a published listing at its owner's request; closing again changes nothing."""
    listing = get_owned_listing(db, listing_id, org_id)
    moment = now()
    return _change(db, listing, lambda current: domain.close(current, domain.CLOSED_BY_OWNER, moment), traceparent)


def get_owned_listing(db: Database, listing_id: str, org_id: str | None) -> dict:
    """A listing of the caller's organisation; NotFound for anyone else's (existence is not revealed)."""
    listing = store.find_listing(db, listing_id)
    if listing is None or listing["org_id"] != org_id:
        raise NotFound(f"your organisation has no listing {listing_id}", code="listing_not_found")
    return listing


def _change(db: Database, listing: dict, decide: Callable[[dict], dict | None], traceparent) -> dict:
    """Apply `decide(listing)` and its event in one guarded write, re-reading on a concurrent change."""
    for _ in range(MAX_ATTEMPTS):
        changes = decide(listing)
        if changes is None:
            return listing
        updated = {**listing, **changes}
        event_type = domain.event_type_for(listing, updated)
        events = [] if event_type is None else [_listing_event(event_type, updated, traceparent)]
        if store.update_listing(db, listing, changes, events):
            log.info("listing_changed", listing_id=listing["_id"], version=updated["version"], event_type=event_type)
            return updated
        listing = store.find_listing(db, listing["_id"]) or listing  # listings are never deleted
    raise Conflict("the listing changed several times meanwhile; try again", code="concurrent_update")


def _listing_event(event_type: str, listing: dict, traceparent) -> dict:
    return new_event(event_type, SOURCE, listing["_id"], domain.snapshot(listing), traceparent)


# ---- listings: what anyone can read ----------------------------------------------------


def get_listing(db: Database, listing_id: str, viewer_org: str | None) -> dict:
    """A published or closed listing; a draft only for its own organisation."""
    listing = store.find_listing(db, listing_id, public=True)
    if listing is None or (listing["status"] == domain.DRAFT and listing["org_id"] != viewer_org):
        raise NotFound(f"no listing {listing_id}", code="listing_not_found")
    return with_org_flags(db, [listing])[0]


def with_org_flags(db: Database, listings: list[dict]) -> list[dict]:
    """The listings, each with `org_flag` when its organisation left a payment dispute open for too long."""
    flags = org_flags(db, listings)
    return [{**listing, "org_flag": flags[listing["org_id"]]} for listing in listings]


def org_flags(db: Database, listings: list[dict]) -> dict[str, dict | None]:
    """The `org_flag` of each organisation of these listings (None: no payment dispute open for too long)."""
    moment = now()
    return {org: domain.org_flag(store.open_disputes(db, org), moment) for org in {x["org_id"] for x in listings}}


def search_listings(
    db: Database, filters: dict, limit: int, cursor: str | None
) -> tuple[list[dict], dict[str, dict | None], str | None]:
    """Published listings still open for applications, matching every word and filter, newest first: the page's
    listings as the search keeps them in memory (show them with schemas.listing_page), each organisation's flag, and
    the next cursor."""
    terms = domain.query_terms(filters.get("q"))
    normalised = {**filters, "skill": domain.skill_key(filters.get("skill") or "")}
    items, next_cursor = search_model.search_page(db, normalised, terms, now(), limit, cursor)
    return items, org_flags(db, items), next_cursor


def list_org_listings(db: Database, org_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """Every listing of the caller's organisation, drafts included, newest first."""
    items, next_cursor = store.org_page(db, org_id, limit, cursor)
    return with_org_flags(db, items), next_cursor


def categories() -> list[dict]:
    """The work domains, code and label, in the order pages offer them."""
    return [{"code": code, "label": label} for code, label in domain.CATEGORIES.items()]


# ---- the worker: seats and deadlines ---------------------------------------------------


def count_accepted_seat(db: Database, event: Event) -> dict:
    """An application was accepted: it takes a seat (once), and the last seat closes the listing."""
    return _seat_change(db, event, domain.count_seat)


def release_seat(db: Database, event: Event) -> dict:
    """An accepted application was withdrawn or rejected: its seat is free again."""
    if event.data.previous_status != "accepted":
        return {"ignored": "the application held no seat"}
    return _seat_change(db, event, domain.release_seat)


def _seat_change(db: Database, event: Event, rule: Callable[[dict, str, datetime], dict | None]) -> dict:
    data = event.data
    listing = store.find_listing(db, data.listing_id)
    if listing is None:
        log.warning("seat_event_for_unknown_listing", event_id=event.id, listing_id=data.listing_id)
        return {"ignored": "unknown listing"}
    moment, application_id = now(), data.application_id
    updated = _change(db, listing, lambda current: rule(current, application_id, moment), event.traceparent)
    return {"listing_id": updated["_id"], "seats_filled": updated["seats_filled"], "status": updated["status"]}


def open_payment_dispute(db: Database, event: Event) -> dict:
    """A student disputed a payment: the organisation has an open dispute from then on."""
    data = event.data
    store.open_dispute(db, data.org_id, data.application_id, data.disputed_at or event.time)
    return {"org_id": data.org_id, "dispute": "open"}


def settle_payment_dispute(db: Database, event: Event) -> dict:
    """A payment was confirmed or recorded again (corrected): any dispute about it is settled."""
    data = event.data
    store.close_dispute(db, data.org_id, data.application_id)
    return {"org_id": data.org_id, "dispute": "settled"}


def map_free_text_categories(db: Database) -> int:
    """Move every listing with a free-text category onto a work domain (`other` when no word names one).

    Idempotent: a listing already on a domain is left alone, so running it again (every worker start) changes
    nothing. Published listings announce the change like any edit. Returns how many listings moved.
    """
    moved = 0
    for listing in store.listings_outside_categories(db):
        updated = _change(db, listing, lambda current: domain.recategorise(current, now()), None)
        if updated["version"] != listing["version"]:
            moved += 1
            log.info("listing_recategorised", listing_id=listing["_id"], category=updated["category"])
    return moved


def close_expired_listings(db: Database, at: datetime | None = None) -> int:
    """Close the published listings whose deadline has passed (by `at`, default now), each with its event; return
    how many. Each is re-read by `_id` and closed only when it is still published and past its deadline."""
    moment = at or now()
    closed = 0
    for listing in store.expired_listings(db, moment):
        updated = _change(db, listing, lambda current: domain.close_if_expired(current, moment), None)
        if updated["status"] == domain.CLOSED and updated["version"] != listing["version"]:
            closed += 1
    if closed:
        log.info("expired_listings_closed", count=closed)
    return closed
