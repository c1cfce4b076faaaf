"""The application service's collections: applications (with their outbox), seats, listing and org read models."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.application.domain import OPEN_STATUSES
from shared.locks import keep_if_newer
from shared.mongo import find_by_ids
from shared.outbox import (
    OUTBOX_FIELD,
    PENDING_FIELD,
    HeldDocument,
    ensure_outbox_index,
    holding,
    insert_aggregate,
    new_document_with_events,
    update_with_events,
)
from shared.pagination import paginate

APPLICATIONS = "applications"
LISTINGS = "listings"
ORGS = "orgs"
SEATS = "seats"
OPEN_PLACES = "open_applications"  # where open places were kept before they moved into the applications
# A student's open application holds "<student_id>#<n>" here (n in 1..the limit), a closed one "closed/<its _id>".
OPEN_PLACE = "open_place"
MIGRATIONS = "migrations"
CREDENTIALS = "credentials"  # read model of stint.certification: which credential is whose, and revoked or not
# Readers never see the outbox bookkeeping.
HIDE_OUTBOX = {OUTBOX_FIELD: 0, PENDING_FIELD: 0}


def without_outbox(app: dict) -> dict:
    """An application without its outbox bookkeeping, for one read whole (a findAndModify's answer: FerretDB 1.24
    takes no projection there)."""
    return {name: value for name, value in app.items() if name not in HIDE_OUTBOX}


class Refused(Exception):
    """A unique index refused a new application: its (listing, student) pair, or the open place it would hold."""


def ensure_indexes(db: Database) -> None:
    """Create the indexes the rules and queries rely on (idempotent)."""
    applications = db[APPLICATIONS]
    # The rule "one application per student per listing" lives here, so concurrent submits cannot both win.
    applications.create_index(
        [("listing_id", ASCENDING), ("student_id", ASCENDING)], unique=True, name="one_per_student_and_listing"
    )
    applications.create_index([("student_id", ASCENDING), ("created_at", DESCENDING)], name="by_student")
    applications.create_index([("org_id", ASCENDING), ("created_at", DESCENDING)], name="by_org")
    ensure_outbox_index(applications)
    _move_open_places_into_applications(db)
    # The rule "at most the limit of open applications": a new application is inserted holding a free place.
    applications.create_index([(OPEN_PLACE, ASCENDING)], unique=True, name="one_per_open_place")
    db[SEATS].create_index([("application_id", ASCENDING)], unique=True, name="one_place_per_application")
    db[SEATS].create_index([("owner", ASCENDING)], name="by_owner")


def _move_open_places_into_applications(db: Database) -> None:
    """Once per database: each application stored before its open place lived in it gets one.

    An open one the place it holds in `open_applications`, a closed one (or one holding none) its closed mark. Each
    write holds the document's lock and checks the status read, so a change racing the migration is not undone.
    """
    done = "open_place_in_application"
    if db[MIGRATIONS].find_one({"_id": done}):
        return
    for app in list(db[APPLICATIONS].find({OPEN_PLACE: {"$exists": False}}, {"status": 1})):
        place = db[OPEN_PLACES].find_one({"application_id": app["_id"]}, {"_id": 1})
        held = place["_id"] if place and app["status"] in OPEN_STATUSES else closed_place(app["_id"])
        update_with_events(
            db[APPLICATIONS], {"_id": app["_id"], "status": app["status"]}, {"$set": {OPEN_PLACE: held}}, []
        )
    with contextlib.suppress(DuplicateKeyError):
        db[MIGRATIONS].insert_one({"_id": done})


def open_place(student_id: str, number: int) -> str:
    """The `number`th of a student's open places."""
    return f"{student_id}#{number}"


def closed_place(application_id: str) -> str:
    """What a closed application holds instead of an open place (unique, so the index never refuses it)."""
    return f"closed/{application_id}"


# ---- applications --------------------------------------------------------------------------


def find_application(db: Database, application_id: str) -> dict | None:
    """One application, without its outbox."""
    return db[APPLICATIONS].find_one({"_id": application_id}, HIDE_OUTBOX)


def insert_application(db: Database, app: dict, events: list[dict], place: int) -> None:
    """Store a new application with its events, holding the student's `place`th open place; Refused when the
    student applied to this listing before, or when another application holds that place (FerretDB does not say
    which unique index refused it)."""
    document = new_document_with_events({**app, OPEN_PLACE: open_place(app["student_id"], place)}, events)
    try:
        insert_aggregate(db[APPLICATIONS], document)
    except DuplicateKeyError:
        raise Refused() from None


@dataclass(frozen=True)
class Change:
    """One write to an application, as a use case decides it: the fields it sets, the entry it appends to each of
    the lists named, and how much it raises each counter named. Every change also raises the version."""

    fields: dict
    appended: dict = field(default_factory=dict)
    raised: dict = field(default_factory=dict)


class Changing:
    """An application read under its write lock (`changing`), and the one change a use case then writes to it."""

    def __init__(self, held: HeldDocument):
        self._held = held
        self.app: dict | None = held.find_one(HIDE_OUTBOX)  # None when there is no such application

    def write(self, change: Change, events: list[dict]) -> dict:
        """Write `change` and its `events`; the application as stored after it, without its outbox. A change that
        closes the application frees its open place in the same write. The answer comes back with the write (one
        round trip, not a write and a read)."""
        app = self.app
        fields = dict(change.fields)
        if "status" in fields and fields["status"] not in OPEN_STATUSES:
            fields[OPEN_PLACE] = closed_place(app["_id"])
        update = {"$set": fields, "$inc": {"version": 1, **change.raised}}
        if change.appended:
            update["$push"] = dict(change.appended)
        stored = self._held.find_one_and_update(update, events, return_document=ReturnDocument.AFTER)
        self.app = without_outbox(stored)
        return self.app


@contextlib.contextmanager
def changing(db: Database, application_id: str) -> Iterator[Changing]:
    """Read an application and write one change to it under its lock (shared.outbox.holding): on FerretDB, whose
    updates are read-modify-write, neither another request nor the relay can slip in between, so the use case
    decides on the application as stored, and its write needs no guard and no retry."""
    with holding(db[APPLICATIONS], application_id) as held:
        yield Changing(held)


def has_application(db: Database, application_id: str) -> bool:
    """True when an application with this id is stored (read by `_id`)."""
    return db[APPLICATIONS].find_one({"_id": application_id}, {"_id": 1}) is not None


def student_has_applied(db: Database, student_id: str, listing_id: str) -> bool:
    """True when the student already applied to the listing."""
    return db[APPLICATIONS].find_one({"listing_id": listing_id, "student_id": student_id}, {"_id": 1}) is not None


def page_of_applications(db: Database, query: dict, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """Newest applications first, one page at a time."""
    return paginate(db[APPLICATIONS], query, limit, cursor, sort_field="created_at", projection=HIDE_OUTBOX)


def applications_by_ids(db: Database, ids: list[str]) -> list[dict]:
    """The status and submissions of the applications among `ids` (each read by `_id`)."""
    return list(find_by_ids(db[APPLICATIONS], ids, {"status": 1, "submissions": 1}).values())


# ---- seats: inserts under unique keys ----------------------------------------------------
#
# A conditional update is not atomic on FerretDB 1.24 (it reads, then writes the whole document by _id,
# so concurrent updates are lost), but an insert under a unique key is. So a listing's seat is a document
# "<listing_id>#<n>" for n in 1..seats, one per application at most. (A student's open places are a field of
# the applications themselves, under a unique index: see OPEN_PLACE.)


def take_place(db: Database, kind: str, owner: str, capacity: int, application_id: str, now: datetime) -> bool:
    """Take a free place of `owner` (a listing's seat) for the application.

    True when taken now or already held by it; False when all `capacity` places are taken.
    """
    if db[kind].find_one({"application_id": application_id}, {"_id": 1}):
        return True  # a retry after a crash, or a concurrent attempt for the same application
    if db[kind].count_documents({"owner": owner}) >= capacity:
        return False  # also when the capacity shrank below the places already taken
    for number in range(1, capacity + 1):
        place = {"_id": f"{owner}#{number}", "owner": owner, "application_id": application_id, "taken_at": now}
        try:
            db[kind].insert_one(place)
            return True
        except DuplicateKeyError:
            if db[kind].find_one({"application_id": application_id}, {"_id": 1}):
                return True
    return False


def give_back_place(db: Database, kind: str, application_id: str) -> bool:
    """Free the place an application holds (a no-op when it holds none)."""
    return db[kind].delete_one({"application_id": application_id}).deleted_count == 1


def places_of(db: Database, kind: str, owner: str) -> list[dict]:
    """The places of `owner` that are taken."""
    return list(db[kind].find({"owner": owner}))


# ---- read models ---------------------------------------------------------------------------


def find_listing(db: Database, listing_id: str) -> dict | None:
    """The newest snapshot of a listing we have seen."""
    return db[LISTINGS].find_one({"_id": listing_id})


def keep_newest_listing(db: Database, snapshot: dict) -> bool:
    """Store a listing snapshot unless a newer or equal version is kept; True when stored."""
    return keep_if_newer(db[LISTINGS], snapshot["listing_id"], "version", snapshot["version"], snapshot)


def find_org(db: Database, org_id: str) -> dict | None:
    """The newest organisation profile we have seen."""
    return db[ORGS].find_one({"_id": org_id})


def keep_newest_org(db: Database, org: dict, as_of: datetime) -> bool:
    """Store an organisation profile unless one from a later (or the same) event is kept; True when stored."""
    return keep_if_newer(db[ORGS], org["org_id"], "as_of", as_of, org)


def find_credentials(db: Database, credential_ids: list[str]) -> dict[str, dict]:
    """The credentials among `credential_ids` that the read model knows, by id (each read by _id)."""
    found = (db[CREDENTIALS].find_one({"_id": credential_id}) for credential_id in dict.fromkeys(credential_ids))
    return {credential["_id"]: credential for credential in found if credential}


def keep_issued_credential(db: Database, credential: dict) -> None:
    """Remember an issued credential; a revocation that arrived first stays (the revoked flag is set only then)."""
    db[CREDENTIALS].update_one(
        {"_id": credential["_id"]}, {"$set": credential, "$setOnInsert": {"revoked": False}}, upsert=True
    )


def keep_replaced_credential(db: Database, credential_id: str, successor_id: str) -> None:
    """Remember that a credential was re-issued as another (its signing key was revoked): it no longer verifies."""
    db[CREDENTIALS].update_one(
        {"_id": credential_id}, {"$set": {"revoked": True, "replaced_by": successor_id}}, upsert=True
    )


def keep_revoked_credential(db: Database, credential: dict) -> None:
    """Remember that a credential was revoked (for good: nothing un-revokes it)."""
    db[CREDENTIALS].update_one({"_id": credential["_id"]}, {"$set": {**credential, "revoked": True}}, upsert=True)
