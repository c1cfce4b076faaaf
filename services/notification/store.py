"""The notification service's collections, their indexes and the queries on them."""

from __future__ import annotations

import contextlib
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.notification.domain import OPEN_APPLICATION_STATUSES
from shared.events import Event, read_event
from shared.locks import HeldKeys, give_back, keep_if_newer, release_lease, take_lease, take_leases
from shared.mongo import find_by_ids, insert_new
from shared.outbox import find_one_and_update_with_events
from shared.owner_index import COMPLETE, OwnerIndex
from shared.pagination import paginate

INBOX = "inbox"
# recipient → their inbox entries' ids, times and read flags, read by _id (shared/owner_index.py says why)
INBOX_INDEX = "inbox_index"
# A recipient's inbox lists (and counts unread among) their newest this many entries; older ones stay stored but
# leave the list, so a busy organisation's index, rewritten on every notification, stays small.
INBOX_LISTED = 1000
EMAILS = "email_deliveries"
WEBHOOK_DELIVERIES = "webhook_deliveries"
WEBHOOKS = "webhooks"
# organisation → its endpoints' ids and times, read by _id: every event for an organisation looks its endpoints up,
# and a filter on `org_id` is a scan of every organisation's endpoints on FerretDB (shared/owner_index.py)
WEBHOOK_INDEX = "webhook_index"
PREFERENCES = "preferences"
ORGS = "orgs"  # read model from org events: names and contact emails
APPLICATIONS = "applications"  # read model from application events: who applied to which listing
CLOSED_LISTINGS = "closed_listings"  # each listing's `listing.closed` event, for applicants heard of only later
# Collections holding one document per (event id, recipient, channel).
KEYED = (INBOX, EMAILS, WEBHOOK_DELIVERIES)


def ensure_indexes(db: Database) -> None:
    """Create the indexes every query and idempotency guarantee relies on."""
    for name in KEYED:
        db[name].create_index(
            [("event_id", ASCENDING), ("recipient", ASCENDING), ("channel", ASCENDING)],
            unique=True,
            name="one_per_event_recipient_channel",
        )
    db[INBOX].create_index([("recipient", ASCENDING), ("created_at", DESCENDING)], name="inbox_by_recipient")
    index_existing_inbox(db)
    index_existing_webhooks(db)
    mark_existing_deliveries_due(db)
    for name in (EMAILS, WEBHOOK_DELIVERIES):
        db[name].create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due")
    db[WEBHOOK_DELIVERIES].create_index([("webhook_id", ASCENDING), ("created_at", DESCENDING)], name="by_webhook")
    db[WEBHOOKS].create_index([("org_id", ASCENDING), ("created_at", DESCENDING)], name="by_org")
    db[APPLICATIONS].create_index([("listing_id", ASCENDING), ("status", ASCENDING)], name="by_listing")


def add_to_inbox(db: Database, entries: list[dict]) -> int:
    """Store inbox entries, each first entered in its recipient's index; how many were new (a redelivered event
    adds nothing)."""
    by_recipient: dict[str, list[dict]] = {}
    for entry in entries:
        by_recipient.setdefault(entry["recipient"], []).append(_index_entry(entry))
    _inbox_index(db).add_all(by_recipient)
    return len(insert_new(db[INBOX], entries))


def _inbox_index(db: Database) -> OwnerIndex:
    return OwnerIndex(db[INBOX_INDEX], "created_at", max_entries=INBOX_LISTED)


def _index_entry(entry: dict) -> dict:
    return {"id": entry["_id"], "created_at": entry["created_at"], "read": bool(entry.get("read"))}


def index_existing_inbox(db: Database) -> None:
    """Enter the inbox entries stored before the recipients' indexes existed (once per database)."""
    projection = {"recipient": 1, "created_at": 1, "read": 1}
    _inbox_index(db).backfill((entry["recipient"], _index_entry(entry)) for entry in db[INBOX].find({}, projection))


def queue_emails(db: Database, emails: list[dict]) -> int:
    """Queue emails for the periodic sender; how many were new."""
    return len(_queue(db[EMAILS], emails))


def queue_claimed_emails(db: Database, emails: list[dict], until: datetime) -> list[dict]:
    """Queue emails the queuing process sends itself (handlers._queue_emails): due to every sender only from `until`,
    so none takes one before then, and any does after (one the process never sent: it died). The new ones (a
    redelivered event's are stored already, and not sent again from here)."""
    return _queue(db[EMAILS], emails, due_from=until)


def queue_webhook_calls(db: Database, calls: list[dict]) -> int:
    """Queue webhook calls for the periodic dispatcher; how many were new."""
    return len(_queue(db[WEBHOOK_DELIVERIES], calls))


def _queue(collection: Collection, deliveries: list[dict], due_from: datetime | None = None) -> list[dict]:
    """Mark deliveries due (from `due_from`, else their next attempt), then store them; the new ones. The marks come
    first so no stored delivery is ever left unmarked; a mark whose delivery is not stored yet (or was sent long
    ago, for a redelivered event) is dropped by the sender that finds it so (`claim`)."""
    marks = [{"_id": d["_id"], "next_attempt_at": due_from or d["next_attempt_at"]} for d in deliveries]
    insert_new(_due(collection), marks)
    stored = set(insert_new(collection, deliveries))
    return [delivery for delivery in deliveries if delivery["_id"] in stored]


def _due(collection: Collection) -> Collection:
    """The deliveries of `collection` still to try: `{_id: delivery id, next_attempt_at}`, one per pending delivery.
    The senders look for due work every second; FerretDB 1.24 answers such a filter by reading every document, so it
    reads this short list instead of every delivery ever made."""
    return collection.database[f"{collection.name}_due"]


def mark_existing_deliveries_due(db: Database) -> None:
    """Mark the pending deliveries stored before the due lists existed (once per database)."""
    for name in (EMAILS, WEBHOOK_DELIVERIES):
        due = _due(db[name])
        if due.find_one({"_id": COMPLETE}) is not None:
            continue
        pending = db[name].find(DUE, {"next_attempt_at": 1})
        insert_new(due, [{"_id": d["_id"], "next_attempt_at": d["next_attempt_at"]} for d in pending])
        with contextlib.suppress(DuplicateKeyError):
            due.insert_one({"_id": COMPLETE})  # no next_attempt_at: never due


# ---- read models ----------------------------------------------------------------------


def _upsert_if_newer(collection: Collection, key: str, values: dict, at: datetime) -> None:
    """Keep the newest state: a change older than the stored one is ignored (events can arrive late)."""
    keep_if_newer(collection, key, "event_time", at, values)


def remember_org(db: Database, org_id: str, name: str, status: str, contact_email: str, at: datetime) -> None:
    """Keep an organisation's name, status and contact email."""
    _upsert_if_newer(db[ORGS], org_id, {"name": name, "status": status, "contact_email": contact_email}, at)


def find_org(db: Database, org_id: str) -> dict | None:
    """An organisation from the read model."""
    return db[ORGS].find_one({"_id": org_id}) if org_id else None


def remember_application(
    db: Database, application_id: str, listing_id: str, student: dict, status: str, at: datetime
) -> None:
    """Keep which student applied to which listing, and where their application stands."""
    values = {"listing_id": listing_id, "student": student, "status": status}
    _upsert_if_newer(db[APPLICATIONS], application_id, values, at)


def remember_closed_listing(db: Database, event: Event) -> None:
    """Keep a listing's closing event as it was sent (the first one; a listing closes once)."""
    with contextlib.suppress(DuplicateKeyError):
        db[CLOSED_LISTINGS].insert_one({"_id": event.data.listing_id, "event": event.envelope})


def closing_of(db: Database, listing_id: str) -> Event | None:
    """The event that closed a listing, read as the consumer read it, or None while it is open (or unknown)."""
    document = db[CLOSED_LISTINGS].find_one({"_id": listing_id})
    return read_event(document["event"]) if document else None


def open_applications(db: Database, listing_id: str) -> list[dict]:
    """Applications to a listing still waiting for a decision."""
    return list(db[APPLICATIONS].find({"listing_id": listing_id, "status": {"$in": list(OPEN_APPLICATION_STATUSES)}}))


# ---- preferences ----------------------------------------------------------------------


def preferences_of(db: Database, subs: list[str]) -> dict[str, dict]:
    """Stored preferences of these users, by user id (absent users have defaults)."""
    return find_by_ids(db[PREFERENCES], subs)


def save_preferences(db: Database, sub: str, values: dict, now: datetime) -> dict:
    """Replace a user's preferences; return them as stored."""
    return db[PREFERENCES].find_one_and_update(
        {"_id": sub}, {"$set": {**values, "updated_at": now}}, upsert=True, return_document=ReturnDocument.AFTER
    )


# ---- inbox ----------------------------------------------------------------------------


def inbox_page(db: Database, owners: list[str], unread: bool, limit: int, cursor: str | None):
    """A page of inbox entries for these recipients, newest first: their indexes read by _id, then each entry shown
    read by _id (scanned only while the entries stored before the indexes existed are being entered)."""
    index = _inbox_index(db)
    if index.complete():

        def shown(entry: dict) -> bool:
            return not (unread and entry.get("read"))

        listed = [entry for entry in index.entries(owners) if shown(entry)]
        return index.page(listed, lambda entry_id: db[INBOX].find_one({"_id": entry_id}), limit, cursor, keep=shown)
    query: dict = {"recipient": {"$in": owners}}
    if unread:
        query["read"] = False
    return paginate(db[INBOX], query, limit, cursor)


def mark_read(db: Database, entry_id: str, owners: list[str], now: datetime) -> dict | None:
    """Mark an entry read (once); None when it is not one of these recipients'.

    Under the entry's document lock (shared/locks.py): on FerretDB a conditional update is read-modify-write, so
    two requests marking the same entry would both win and the second `read_at` would overwrite the first.
    """
    entry = db[INBOX].find_one({"_id": entry_id})
    if entry is None or entry.get("recipient") not in owners:
        return None
    if entry.get("read"):
        _inbox_index(db).mark(entry["recipient"], entry_id, read=True)  # heals an index a crash left behind
        return entry
    changes = {"$set": {"read": True, "read_at": now}}
    updated = find_one_and_update_with_events(
        db[INBOX], {"_id": entry_id, "read": False}, changes, [], return_document=ReturnDocument.AFTER
    )
    _inbox_index(db).mark(entry["recipient"], entry_id, read=True)
    return updated or db[INBOX].find_one({"_id": entry_id})


# ---- webhooks -------------------------------------------------------------------------


def _webhook_index(db: Database) -> OwnerIndex:
    return OwnerIndex(db[WEBHOOK_INDEX], "created_at")


def index_existing_webhooks(db: Database) -> None:
    """Enter the endpoints registered before the organisations' indexes existed (once per database)."""
    projection = {"org_id": 1, "created_at": 1}
    _webhook_index(db).backfill(
        (webhook["org_id"], {"id": webhook["_id"], "created_at": webhook["created_at"]})
        for webhook in db[WEBHOOKS].find({}, projection)
    )


def _webhooks_of(db: Database, org_id: str) -> list[dict] | None:
    """An organisation's endpoints, newest first, read by _id from its index; None while the index is being filled
    (the caller then queries by `org_id`)."""
    index = _webhook_index(db)
    if not index.complete():
        return None
    found = (find_webhook(db, entry["id"], org_id) for entry in index.entries([org_id]))
    return [webhook for webhook in found if webhook is not None]


def count_webhooks(db: Database, org_id: str) -> int:
    """How many endpoints an organisation has registered."""
    webhooks = _webhooks_of(db, org_id)
    return db[WEBHOOKS].count_documents({"org_id": org_id}) if webhooks is None else len(webhooks)


def insert_webhook(db: Database, webhook: dict) -> None:
    """Store a new endpoint (entered in its organisation's index first, so no reader misses it)."""
    _webhook_index(db).add(webhook["org_id"], [{"id": webhook["_id"], "created_at": webhook["created_at"]}])
    db[WEBHOOKS].insert_one(webhook)


def webhooks_page(db: Database, org_id: str, limit: int, cursor: str | None):
    """A page of an organisation's endpoints, newest first."""
    index = _webhook_index(db)
    if index.complete():
        return index.page(
            index.entries([org_id]), lambda webhook_id: find_webhook(db, webhook_id, org_id), limit, cursor
        )
    return paginate(db[WEBHOOKS], {"org_id": org_id}, limit, cursor)


def find_webhook(db: Database, webhook_id: str, org_id: str | None = None) -> dict | None:
    """One endpoint (of `org_id`, when given), read by _id."""
    webhook = db[WEBHOOKS].find_one({"_id": webhook_id})
    return webhook if webhook is not None and org_id in (None, webhook.get("org_id")) else None


def delete_webhook(db: Database, webhook_id: str, org_id: str) -> bool:
    """Remove an endpoint and cancel what was still queued for it; False when it is not the org's."""
    if find_webhook(db, webhook_id, org_id) is None or not db[WEBHOOKS].delete_one({"_id": webhook_id}).deleted_count:
        return False
    _webhook_index(db).remove(org_id, [webhook_id])
    cancel_pending_deliveries(db, webhook_id, "endpoint deleted")
    return True


def webhooks_listening(db: Database, org_id: str, event_type: str) -> list[dict]:
    """An organisation's enabled endpoints subscribed to `event_type` (or to everything)."""
    if not org_id:
        return []
    webhooks = _webhooks_of(db, org_id)
    if webhooks is None:
        return list(db[WEBHOOKS].find({"org_id": org_id, "enabled": True, "event_types": {"$in": [event_type, "*"]}}))
    return [w for w in webhooks if w.get("enabled") and {event_type, "*"} & set(w.get("event_types") or ())]


def disable_webhook(db: Database, webhook_id: str, reason: str, now: datetime) -> dict | None:
    """Switch an endpoint off; return it only to the one caller that actually switched it.

    Under the endpoint's document lock (shared/locks.py): on FerretDB a conditional update is read-modify-write, so
    without it two dispatchers failing at once would both "switch it off" and both report it.
    """
    return find_one_and_update_with_events(
        db[WEBHOOKS],
        {"_id": webhook_id, "enabled": True},
        {"$set": {"enabled": False, "disabled_at": now, "disabled_reason": reason}},
        [],
        return_document=ReturnDocument.AFTER,
    )


# ---- outbound deliveries (emails and webhook calls) -----------------------------------


def deliveries_page(db: Database, webhook_id: str, limit: int, cursor: str | None):
    """A page of an endpoint's delivery log, newest first."""
    return paginate(db[WEBHOOK_DELIVERIES], {"webhook_id": webhook_id}, limit, cursor)


DUE = {"status": "pending"}
CLAIM_CANDIDATES = 20


def claim_due(collection: Collection, now: datetime, lease_seconds: float) -> dict | None:
    """Lease one due delivery, so two dispatchers never send the same one."""
    for delivery_id in due_deliveries(collection, now, CLAIM_CANDIDATES):
        delivery = claim(collection, delivery_id, now, lease_seconds)
        if delivery is not None:
            return delivery
    return None


def due_deliveries(collection: Collection, now: datetime, limit: int) -> list:
    """The ids of up to `limit` due deliveries, oldest first (from the short list of pending ones, `_due`)."""
    due = {"next_attempt_at": {"$lte": now}}
    return [d["_id"] for d in _due(collection).find(due).sort("next_attempt_at", ASCENDING).limit(limit)]


def claim(collection: Collection, delivery_id, now: datetime, lease_seconds: float) -> dict | None:
    """Lease one delivery if it is still due; None when another sender holds it or it was sent.

    The lease is taken first and the delivery re-read after: a dispatcher that read a stale
    candidate finds it already sent (shared/locks.py says why not a conditional update).
    The returned delivery carries its lease under "lease"; record_attempt gives it back.
    """
    lease = take_lease(collection, delivery_id, lease_seconds, purpose="delivery")
    if lease is None:
        return None
    delivery = _still_due(collection, delivery_id, now)
    if delivery is None:
        release_lease(lease)
        return None
    return {**delivery, "lease": lease}


def claim_together(collection: Collection, delivery_ids: list, now: datetime, lease_seconds: float):
    """claim for several deliveries, their leases taken with one insert: (those still due, the leases). Each attempt
    is logged with log_attempt as soon as it is made; settle_together then gives the leases back with one delete."""
    leases = take_leases(collection, delivery_ids, lease_seconds, purpose="delivery")
    claimed = [_still_due(collection, delivery_id, now) for delivery_id in leases.ids]
    return [delivery for delivery in claimed if delivery is not None], leases


def _still_due(collection: Collection, delivery_id, now: datetime) -> dict | None:
    """The leased delivery re-read, when it is still due (one sent, failed or cancelled leaves the due list)."""
    delivery = collection.find_one({"_id": delivery_id})  # by _id alone: the one filter FerretDB does not scan for
    if delivery is None or delivery.get("status") != DUE["status"] or delivery["next_attempt_at"] > now:
        if delivery is not None and delivery.get("status") != DUE["status"]:
            _due(collection).delete_one({"_id": delivery_id})  # sent, failed or cancelled: not due any more
        return None
    return delivery


def log_attempt(collection: Collection, delivery: dict, attempt: dict, status: str, next_at) -> None:
    """Log an attempt and its outcome on the delivery itself."""
    values = {"status": status, "next_attempt_at": next_at}
    if status == "delivered":
        values["delivered_at"] = attempt["at"]
    collection.update_one(
        {"_id": delivery["_id"]},
        {"$push": {"attempts": attempt}, "$inc": {"attempt_count": 1}, "$set": values},
    )


def record_attempt(collection: Collection, delivery: dict, attempt: dict, status: str, next_at) -> None:
    """Log an attempt and its outcome; move or drop its due entry; release the lease."""
    try:
        log_attempt(collection, delivery, attempt, status, next_at)
        settle_due(collection, {delivery["_id"]: next_at if status == DUE["status"] else None})
    finally:
        release_lease(delivery["lease"])


def settle_together(collection: Collection, next_attempts: dict, leases: HeldKeys) -> None:
    """After attempts claimed together: drop the due entries of those done (one delete; `next_attempts` maps each to
    its next attempt's time, None when done), move those to retry, give back the leases (one delete)."""
    try:
        settle_due(collection, next_attempts)
    finally:
        give_back(leases)


def settle_due(collection: Collection, next_attempts: dict) -> None:
    """After attempts: drop the due marks of the deliveries done (`next_attempts` maps each to its next attempt's
    time, None when done; one delete) and move those to retry."""
    done = [delivery_id for delivery_id, next_at in next_attempts.items() if next_at is None]
    if done:  # the due list holds only pending deliveries: `$in` reads few documents even where FerretDB scans
        _due(collection).delete_many({"_id": {"$in": done}})
    for delivery_id, next_at in next_attempts.items():
        if next_at is not None:
            _due(collection).update_one({"_id": delivery_id}, {"$set": {"next_attempt_at": next_at}})


def cancel_delivery(collection: Collection, delivery: dict, reason: str) -> None:
    """Give up on one delivery without trying it."""
    try:
        collection.update_one({"_id": delivery["_id"]}, {"$set": {"status": "cancelled", "cancel_reason": reason}})
        _due(collection).delete_one({"_id": delivery["_id"]})
    finally:
        release_lease(delivery["lease"])


def cancel_pending_deliveries(db: Database, webhook_id: str, reason: str) -> int:
    """Give up on everything still queued for an endpoint."""
    result = db[WEBHOOK_DELIVERIES].update_many(
        {"webhook_id": webhook_id, "status": "pending"}, {"$set": {"status": "cancelled", "cancel_reason": reason}}
    )
    return result.modified_count
