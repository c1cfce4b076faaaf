"""The certification service's collections, indexes and queries."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.certification.dataintegrity import SignedCopy
from shared.locks import Lease, document_lock, take_lease
from shared.mongo import find_by_ids, insert_new
from shared.outbox import ensure_outbox_index, find_one_and_update_with_events, insert_aggregate, insert_aggregates
from shared.owner_index import OwnerIndex
from shared.pagination import paginate

CREDENTIALS = "credentials"
# The signed JSON lives apart from the record, read only by _id, so scans of records stay small.
CREDENTIAL_DOCUMENTS = "credential_documents"
# student id → the ids and issue times of the student's credentials, so a student's list is read by _id alone (FerretDB
# scans the collection for any filter but {_id: ...}). Entered before the credential is inserted, under the list's lock.
STUDENT_CREDENTIALS = "student_credentials"
# The one document there that is no student's: present once the credentials stored before the lists existed are entered.
# application id → credential, read by _id: the fast path of "already issued?" (the unique index decides).
ISSUED_APPLICATIONS = "issued_applications"
SIGNING_KEYS = "signing_keys"
STATUS_LISTS = "status_lists"
POLICIES = "university_policies"
CREDIT_DECISIONS = "credit_decisions"
UNIVERSITIES = "universities"
# _id derived from (credential, university): one request per pair is an insert under a unique key.
CREDIT_REQUESTS = "credit_requests"
# old credential uuid → its successor, one per credential signed with a revoked key: the resumable re-issue job.
REISSUES = "reissues"
# slug → skill name: what GET /skills/<slug> shows; every skill a credential aligns to is written here first.
SKILLS = "skills"
# student id → the student's portfolio; and handle (lower case) → student id, so "one student per handle" is an
# insert under a unique key and the public page is two reads by _id.
PORTFOLIOS = "portfolios"
PORTFOLIO_HANDLES = "portfolio_handles"
HANDLE_CLAIM_SETTLE_SECONDS = 30
# An employer's recommendation of approved work, one per application, signed by its organisation (endorsements.py).
ENDORSEMENTS = "endorsements"
# Each organisation's endorsement keys (`<org>/key-<n>`), kept like the platform's signing keys.
ORG_SIGNING_KEYS = "org_signing_keys"


def ensure_indexes(db: Database) -> None:
    """Create the indexes the service relies on (idempotent)."""
    credentials = db[CREDENTIALS]
    # One credential per application, however often work.approved is delivered (reissue_of is "" for it), and one
    # successor per credential re-issued after its key was revoked (reissue_of names the credential it replaces).
    credentials.create_index(
        [("application_id", ASCENDING), ("reissue_of", ASCENDING)], unique=True, name="one_per_issue"
    )
    if "one_per_application" in credentials.index_information():  # the older index allowed no re-issue
        credentials.drop_index("one_per_application")
    # Two credentials never share a revocation bit.
    credentials.create_index(
        [("status_list_id", ASCENDING), ("status_index", ASCENDING)], unique=True, name="one_per_status_bit"
    )
    credentials.create_index([("student.id", ASCENDING), ("issued_at", DESCENDING)], name="by_student")
    credentials.create_index([("issued_at", DESCENDING)], name="by_issue_time")
    ensure_outbox_index(credentials)
    db[SIGNING_KEYS].create_index([("seq", ASCENDING)], unique=True, name="key_sequence")
    ensure_outbox_index(db[SIGNING_KEYS])
    db[CREDENTIALS].create_index([("key_id", ASCENDING)], name="by_signing_key")
    universities = db[UNIVERSITIES]
    universities.create_index([("aishe_code", ASCENDING)], unique=True, name="one_per_aishe_code")
    universities.create_index([("status", ASCENDING), ("created_at", DESCENDING)], name="by_status")
    ensure_outbox_index(universities)
    requests = db[CREDIT_REQUESTS]
    requests.create_index([("student.id", ASCENDING), ("created_at", DESCENDING)], name="by_student")
    requests.create_index([("university_id", ASCENDING), ("created_at", DESCENDING)], name="by_university")
    ensure_outbox_index(requests)
    db[STATUS_LISTS].create_index([("created_at", DESCENDING)], name="newest_first")
    decisions = db[CREDIT_DECISIONS]
    decisions.create_index(
        [("credential_id", ASCENDING), ("university_org", ASCENDING)], unique=True, name="one_per_university"
    )
    decisions.create_index([("university_org", ASCENDING), ("decided_at", DESCENDING)], name="by_university")
    ensure_outbox_index(decisions)
    endorsements = db[ENDORSEMENTS]
    endorsements.create_index([("application_id", ASCENDING)], unique=True, name="one_per_application")
    endorsements.create_index([("credential_uuid", ASCENDING)], name="by_credential")
    ensure_outbox_index(endorsements)
    db[ORG_SIGNING_KEYS].create_index([("owner", ASCENDING), ("seq", ASCENDING)], unique=True, name="org_key_sequence")
    list_existing_credentials(db)


# Every event-carrying write to these goes through shared.outbox (insert_aggregate, *_with_events), which points the
# relay at the document: the relay reads the pointers instead of scanning them (shared/outbox.py).
POINTED_OUTBOXES = (CREDENTIALS, CREDIT_DECISIONS, UNIVERSITIES, CREDIT_REQUESTS, SIGNING_KEYS, ENDORSEMENTS)


def outbox_collections(db: Database) -> list[Collection]:
    """The collections whose documents carry pending events."""
    return [
        db[CREDENTIALS],
        db[CREDIT_DECISIONS],
        db[UNIVERSITIES],
        db[CREDIT_REQUESTS],
        db[SIGNING_KEYS],
        db[ENDORSEMENTS],
    ]


def parse_uuid(value: str) -> str | None:
    """The canonical form of a uuid (bare or urn:uuid:), or None when it is not one."""
    text = value.removeprefix("urn:uuid:") if isinstance(value, str) else ""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


# ---- skills -------------------------------------------------------------------------------


def remember_skill(db: Database, slug: str, name: str) -> None:
    """Publish a skill's page (the first name given for a slug stays)."""
    with contextlib.suppress(DuplicateKeyError):
        db[SKILLS].insert_one({"_id": slug, "name": name})


def skill(db: Database, slug: str) -> dict | None:
    """A published skill, or None."""
    return db[SKILLS].find_one({"_id": slug})


# ---- credentials --------------------------------------------------------------------------


def credential_by_id(db: Database, credential_uuid: str) -> dict | None:
    """The stored credential record, or None."""
    return db[CREDENTIALS].find_one({"_id": credential_uuid}, {"outbox": 0})


def credential_for_application(db: Database, application_id: str) -> dict | None:
    """The credential issued for an application as its note says (`remember_issued`), read by _id; None without a
    note. A credential stored by an issuer that died before writing the note is found by
    `credential_for_application_after_conflict`, once the unique index on `application_id` refused a second one."""
    claim = db[ISSUED_APPLICATIONS].find_one({"_id": application_id})
    return None if claim is None else credential_by_id(db, claim["credential_uuid"])


def credential_for_application_after_conflict(db: Database, application_id: str) -> dict | None:
    """The credential already issued for an application, or None: its note, else a search of every credential (on
    FerretDB a read of all of them), which is why only an insert refused as a duplicate asks this."""
    found = credential_for_application(db, application_id)
    if found is not None:
        return found
    record = db[CREDENTIALS].find_one({"application_id": application_id}, {"outbox": 0})
    if record is not None:
        remember_issued(db, application_id, record["_id"])
    return record


def remember_issued(db: Database, application_id: str, credential_uuid: str) -> None:
    """Note which credential an application got (idempotent)."""
    # Two concurrent upserts of a new _id can both try the insert; the loser's note is already there.
    with contextlib.suppress(DuplicateKeyError):
        db[ISSUED_APPLICATIONS].update_one(
            {"_id": application_id}, {"$setOnInsert": {"credential_uuid": credential_uuid}}, upsert=True
        )


def remember_all_issued(db: Database, credentials: dict[str, str]) -> None:
    """Note which credential each application got ({application_id: credential uuid}), with one insert; a note
    already there (a concurrent delivery's, for the same credential) stays."""
    notes = [{"_id": application_id, "credential_uuid": uuid_} for application_id, uuid_ in credentials.items()]
    insert_new(db[ISSUED_APPLICATIONS], notes)


def save_signed_document(db: Database, credential_uuid: str, signed: SignedCopy) -> None:
    """Keep the signed credential as text, so no byte of it drifts through the database, with what was signed."""
    db[CREDENTIAL_DOCUMENTS].insert_one(_signed_text(credential_uuid, signed))


def save_signed_documents(db: Database, documents: dict[str, SignedCopy]) -> None:
    """Keep signed credentials ({credential uuid: signed copy}) as `save_signed_document` does, with one insert."""
    insert_new(db[CREDENTIAL_DOCUMENTS], [_signed_text(key, signed) for key, signed in documents.items()])


def _signed_text(credential_uuid: str, signed: SignedCopy) -> dict:
    kept = {"_id": credential_uuid, "json": json.dumps(signed.document, ensure_ascii=False)}
    return kept if signed.combined is None else {**kept, "signed": signed.combined.hex()}


def forget_signed_document(db: Database, credential_uuid: str) -> None:
    """Drop a signed document whose record lost an insert race."""
    db[CREDENTIAL_DOCUMENTS].delete_one({"_id": credential_uuid})


def signed_document(db: Database, credential_uuid: str) -> dict:
    """The signed credential JSON, exactly as issued."""
    return signed_copy(db, credential_uuid).document


def signed_copy(db: Database, credential_uuid: str) -> SignedCopy | None:
    """The signed credential exactly as issued, with what was signed (None for one kept before that was)."""
    found = db[CREDENTIAL_DOCUMENTS].find_one({"_id": credential_uuid})
    return None if found is None else _signed_copy(found)


def signed_copies(db: Database, uuids: list[str]) -> dict[str, SignedCopy]:
    """Signed credentials by uuid, as `signed_copy` (each read by `_id`, see shared.mongo.find_by_ids)."""
    return {key: _signed_copy(found) for key, found in find_by_ids(db[CREDENTIAL_DOCUMENTS], uuids).items()}


def _signed_copy(found: dict) -> SignedCopy:
    return SignedCopy(json.loads(found["json"]), bytes.fromhex(found["signed"]) if found.get("signed") else None)


def credentials_by_ids(db: Database, uuids: list[str]) -> dict[str, dict]:
    """Stored credential records by uuid (each read by `_id`)."""
    return find_by_ids(db[CREDENTIALS], uuids, {"outbox": 0})


# ---- a student's credentials --------------------------------------------------------------


def _student_lists(db: Database) -> OwnerIndex:
    """Each student's credentials, `{_id: student id, credentials: [{id, issued_at}]}` (shared/owner_index.py)."""
    return OwnerIndex(db[STUDENT_CREDENTIALS], "issued_at", entries_field="credentials")


def list_student_credential(db: Database, record: dict) -> None:
    """Enter a credential record (about to be inserted) in its student's list (idempotent)."""
    _student_lists(db).add(record["student"]["id"], [{"id": record["_id"], "issued_at": record["issued_at"]}])


def list_student_credentials(db: Database, records: list[dict]) -> None:
    """Enter credential records (about to be inserted) in their students' lists: one change per student, their locks
    taken together."""
    by_student: dict[str, list[dict]] = {}
    for record in records:
        entry = {"id": record["_id"], "issued_at": record["issued_at"]}
        by_student.setdefault(record["student"]["id"], []).append(entry)
    _student_lists(db).add_all(by_student)


def unlist_student_credential(db: Database, record: dict) -> None:
    """Take back the entry of a credential whose insert lost a race (it was never stored)."""
    _student_lists(db).remove(record["student"]["id"], [record["_id"]])


def list_existing_credentials(db: Database) -> None:
    """Enter the credentials stored before students' lists existed: once per database, a rerun (two processes
    starting together, or one that died half-way) enters nothing twice. Until it is done, lists are scanned."""
    stored = db[CREDENTIALS].find({}, {"student.id": 1, "issued_at": 1})
    _student_lists(db).backfill((r["student"]["id"], {"id": r["_id"], "issued_at": r["issued_at"]}) for r in stored)


def credentials_page(
    db: Database, student_id: str | None, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """One page of a student's credential records (everyone's when `student_id` is None), newest first by
    (`issued_at`, `_id`), and the next cursor (shared.pagination's). A student's: their list read by _id, then each
    record shown read by _id; scanned only while the credentials stored before the lists existed are being entered."""
    lists = _student_lists(db)
    if student_id is None or not lists.complete():
        scope = {} if student_id is None else {"student.id": student_id}
        return paginate(db[CREDENTIALS], scope, limit, cursor, sort_field="issued_at", projection={"outbox": 0})
    return lists.page(lists.entries([student_id]), lambda uuid: credential_by_id(db, uuid), limit, cursor)


def revoked_indexes(db: Database, list_id: str) -> list[int] | None:
    """The revoked positions of a status list, or None when there is no such list."""
    record = db[STATUS_LISTS].find_one({"_id": list_id}, {"revoked": 1})
    return None if record is None else list(record.get("revoked") or [])


def set_revocation_bit(db: Database, list_id: str, index: int) -> None:
    """Set a position in a status list (idempotent), under the list's lock (shared/locks.py says why)."""
    with document_lock(db[STATUS_LISTS], list_id):
        db[STATUS_LISTS].update_one({"_id": list_id}, {"$addToSet": {"revoked": index}})


# ---- status lists -------------------------------------------------------------------------


def take_status_list_places(db: Database, fill_limit: int, count: int) -> str | None:
    """Count `count` more credentials on the newest list with room for them; None when a new list is needed. The
    guard is checked on the list read by _id under its lock and the write is by _id alone (shared/locks.py)."""
    newest = db[STATUS_LISTS].find_one({"allocated": {"$lte": fill_limit - count}}, sort=[("created_at", DESCENDING)])
    if newest is None:
        return None
    with document_lock(db[STATUS_LISTS], newest["_id"]):
        record = db[STATUS_LISTS].find_one({"_id": newest["_id"]}, {"allocated": 1})
        if record is None or record["allocated"] > fill_limit - count:
            return None
        db[STATUS_LISTS].update_one({"_id": record["_id"]}, {"$inc": {"allocated": count}})
    return record["_id"]


def status_list(db: Database, list_id: str) -> dict | None:
    """One status list record."""
    return db[STATUS_LISTS].find_one({"_id": list_id})


def status_lists(db: Database, list_ids: list[str]) -> dict[str, dict]:
    """Status list records by id."""
    return find_by_ids(db[STATUS_LISTS], list_ids, {"_id": 1})


def cache_signed_status_list(db: Database, list_id: str, digest: str, key_id: str, document_json: str) -> None:
    """Remember the signed list for this exact bitstring and key, so it is signed once per change."""
    with document_lock(db[STATUS_LISTS], list_id):
        db[STATUS_LISTS].update_one(
            {"_id": list_id}, {"$set": {"signed": {"digest": digest, "key_id": key_id, "document_json": document_json}}}
        )


# ---- signing keys -------------------------------------------------------------------------


def signing_keys(db: Database) -> list[dict]:
    """Every key record (current and retired), oldest first."""
    return list(db[SIGNING_KEYS].find({}).sort("seq", ASCENDING))


def current_key_record(db: Database) -> dict | None:
    """The newest key marked current."""
    return db[SIGNING_KEYS].find_one({"status": "current"}, sort=[("seq", DESCENDING)])


def newest_key_record(db: Database) -> dict | None:
    """The key with the highest sequence number, whatever its status."""
    return db[SIGNING_KEYS].find_one({}, sort=[("seq", DESCENDING)])


# ---- universities -------------------------------------------------------------------------


def policy_of(db: Database, org: str) -> dict | None:
    """A university's credit policy, or None when it never set one."""
    return db[POLICIES].find_one({"_id": org})


def decision_for(db: Database, credential_uuid: str, org: str) -> dict | None:
    """A university's decision on a credential, or None."""
    return db[CREDIT_DECISIONS].find_one({"credential_id": credential_uuid, "university_org": org}, {"outbox": 0})


def university(db: Database, university_id: str) -> dict | None:
    """A registered university, or None."""
    return db[UNIVERSITIES].find_one({"_id": university_id}, {"outbox": 0}) if university_id else None


def university_with_aishe_code(db: Database, aishe_code: str) -> dict | None:
    """The university registered under an AISHE code, or None."""
    return db[UNIVERSITIES].find_one({"aishe_code": aishe_code}, {"_id": 1})


def credit_request(db: Database, request_id: str) -> dict | None:
    """One credit request, read by _id."""
    return db[CREDIT_REQUESTS].find_one({"_id": request_id}, {"outbox": 0})


def decisions_by_ids(db: Database, ids: list[str]) -> dict[str, dict]:
    """Credit decisions by _id (a decision's _id is its request's; each read by `_id`)."""
    return find_by_ids(db[CREDIT_DECISIONS], ids, {"outbox": 0})


def close_credit_request(db: Database, request_id: str, decision: dict) -> None:
    """Mark a request decided (idempotent: a request already closed stays as it is)."""
    with document_lock(db[CREDIT_REQUESTS], request_id):
        db[CREDIT_REQUESTS].update_one(
            {"_id": request_id, "status": "open"},
            {"$set": {"status": decision["decision"], "decided_at": decision["decided_at"]}},
        )


# ---- key revocation and re-issue ----------------------------------------------------------


def signing_key(db: Database, key_id: str) -> dict | None:
    """One key record, or None."""
    return db[SIGNING_KEYS].find_one({"_id": key_id}, {"outbox": 0})


def credentials_signed_with(db: Database, key_id: str) -> list[dict]:
    """Every credential record whose proof names `key_id`, oldest first."""
    return list(db[CREDENTIALS].find({"key_id": key_id}, {"outbox": 0}).sort("issued_at", ASCENDING))


def claim_reissue(db: Database, old_uuid: str, key_id: str, successor_uuid: str, now) -> dict:
    """The re-issue record of a credential: created on the first attempt, read back (same successor) on a replay."""
    record = {
        "_id": old_uuid,
        "key_id": key_id,
        "successor_uuid": successor_uuid,
        "state": "issuing",
        "started_at": now,
    }
    try:
        db[REISSUES].insert_one(record)
        return record
    except DuplicateKeyError:
        return db[REISSUES].find_one({"_id": old_uuid})


def finish_reissue(db: Database, old_uuid: str, now) -> None:
    """Note that a credential's re-issue is complete."""
    with document_lock(db[REISSUES], old_uuid):
        db[REISSUES].update_one({"_id": old_uuid}, {"$set": {"state": "done", "finished_at": now}})


# ---- portfolios ---------------------------------------------------------------------------


def portfolio(db: Database, student_id: str) -> dict | None:
    """A student's portfolio, or None when they never saved one."""
    return db[PORTFOLIOS].find_one({"_id": student_id})


def portfolio_with_handle(db: Database, key: str) -> dict | None:
    """The portfolio whose handle is `key` (lower case) now, or None (a claim left by a change of handle is not)."""
    claim = db[PORTFOLIO_HANDLES].find_one({"_id": key})
    found = portfolio(db, claim["student_id"]) if claim else None
    return found if found is not None and found.get("handle_key") == key else None


def claim_handle(db: Database, key: str, student_id: str) -> bool:
    """Hold a handle for a student: True when it is theirs now, False when another student holds it."""
    claim = {"student_id": student_id, "claimed_at": datetime.now(UTC)}
    try:
        db[PORTFOLIO_HANDLES].insert_one({"_id": key, **claim})
        return True
    except DuplicateKeyError:
        pass
    with document_lock(db[PORTFOLIO_HANDLES], key):
        holder = db[PORTFOLIO_HANDLES].find_one({"_id": key})
        if holder is not None and holder["student_id"] != student_id:
            # A claim nobody's portfolio uses, older than any save in progress, was left by a change of handle that
            # stopped half-way: the handle is free.
            settled = holder["claimed_at"] < claim["claimed_at"] - timedelta(seconds=HANDLE_CLAIM_SETTLE_SECONDS)
            if not settled or portfolio_with_handle(db, key) is not None:
                return False
        db[PORTFOLIO_HANDLES].replace_one({"_id": key}, claim, upsert=True)
    return True


def release_handle(db: Database, key: str, student_id: str) -> None:
    """Let go of a handle the student no longer uses."""
    with document_lock(db[PORTFOLIO_HANDLES], key):
        db[PORTFOLIO_HANDLES].delete_one({"_id": key, "student_id": student_id})


def portfolio_lock(db: Database, student_id: str):
    """The lock a student's portfolio is read, changed and written whole under (a context manager)."""
    return document_lock(db[PORTFOLIOS], student_id)


def save_portfolio(db: Database, document: dict) -> None:
    """Write a student's portfolio whole (the caller holds its lock)."""
    db[PORTFOLIOS].replace_one({"_id": document["_id"]}, document, upsert=True)


# ---- writes the use cases name (issuing, revoking, key revocation, credits, universities, credit requests) -----------
# Only this module builds MongoDB filters and operators; the use cases call these by what they do.


def insert_credential(db: Database, record: dict) -> None:
    """Store a new credential record with its events; DuplicateKeyError when its issue or status bit is taken."""
    insert_aggregate(db[CREDENTIALS], record)


def insert_credentials(db: Database, records: list[dict]) -> set[str]:
    """Store new credential records with their events, with one insert; the uuids stored (one whose issue or
    status bit was taken is left out)."""
    return insert_aggregates(db[CREDENTIALS], records)


def insert_status_list(db: Database, list_id: str, size: int, now: datetime, taken: int = 1) -> None:
    """Open a new status list with its first `taken` places taken."""
    db[STATUS_LISTS].insert_one({"_id": list_id, "size": size, "allocated": taken, "revoked": [], "created_at": now})


def _set_while(collection: Collection, guard: dict, changes: dict, events: list[dict]) -> dict | None:
    """Set `changes` (with their events) on the document `guard` names (its `_id` and the state it must still be
    in); the record after, without its outbox, or None when it is no longer in that state (a concurrent writer won).
    No projection: FerretDB 1.24 does not implement findAndModify's "fields"."""
    updated = find_one_and_update_with_events(
        collection, guard, {"$set": changes}, events, return_document=ReturnDocument.AFTER
    )
    if updated is not None:
        updated.pop("outbox", None)
    return updated


def mark_credential_revoked(db: Database, credential_uuid: str, changes: dict, events: list[dict]) -> dict | None:
    """Set `changes` on a credential not yet revoked, with its events; the record after, or None when it already
    was (a concurrent revocation won)."""
    return _set_while(db[CREDENTIALS], {"_id": credential_uuid, "revoked": False}, changes, events)


def mark_key_revoked(db: Database, key_id: str, changes: dict, events: list[dict]) -> dict | None:
    """Set `changes` on a retired signing key, with its events; the record after, or None when it is not retired
    (a concurrent revocation won)."""
    return _set_while(db[SIGNING_KEYS], {"_id": key_id, "status": "retired"}, changes, events)


def take_reissue_lease(db: Database, old_uuid: str, seconds: float) -> Lease | None:
    """The lease on one credential's re-issue, or None while another worker holds it."""
    return take_lease(db[REISSUES], old_uuid, seconds, "reissue")


def save_policy(db: Database, org: str, hours_per_credit: float, min_hours: float, by: str, now: datetime) -> None:
    """Create or replace a university's credit policy."""
    values = {"hours_per_credit": hours_per_credit, "min_hours": min_hours, "updated_at": now, "updated_by": by}
    db[POLICIES].update_one({"_id": org}, {"$set": values}, upsert=True)


def insert_credit_request(db: Database, document: dict) -> None:
    """Store a new credit request with its event; DuplicateKeyError when the student asked that university before."""
    insert_aggregate(db[CREDIT_REQUESTS], document)


def credit_requests_page(
    db: Database,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    *,
    student_id: str | None = None,
    university_id: str | None = None,
) -> tuple[list[dict], str | None]:
    """A page of one student's requests, or of those addressed to one university, newest first."""
    scope = {"student.id": student_id} if student_id is not None else {"university_id": university_id}
    if status:
        scope["status"] = status
    projection = {"outbox": 0, "outbox_pending": 0}
    return paginate(db[CREDIT_REQUESTS], scope, limit, cursor, sort_field="created_at", projection=projection)


def insert_credit_decision(db: Database, document: dict) -> None:
    """Store a decision with its event; DuplicateKeyError when its request was decided already."""
    insert_aggregate(db[CREDIT_DECISIONS], document)


def decisions_page(db: Database, org: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """A page of a university's decisions, newest first."""
    projection = {"outbox": 0, "outbox_pending": 0}
    return paginate(
        db[CREDIT_DECISIONS], {"university_org": org}, limit, cursor, sort_field="decided_at", projection=projection
    )


def accepted_decisions(db: Database, org: str, limit: int):
    """A university's accepted credits, oldest decision first (a cursor: the export streams them)."""
    found = db[CREDIT_DECISIONS].find({"university_org": org, "decision": "accepted"}, {"outbox": 0})
    return found.sort("decided_at", ASCENDING).limit(limit)


def insert_university(db: Database, document: dict) -> None:
    """Store a new university with its event; DuplicateKeyError when its id or AISHE code is taken."""
    insert_aggregate(db[UNIVERSITIES], document)


def update_university_profile(db: Database, university_id: str, values: dict) -> dict | None:
    """Set a university's profile fields; the record after (a taken AISHE code raises OperationFailure)."""
    return _set_while(db[UNIVERSITIES], {"_id": university_id}, values, [])


def mark_university_verified(db: Database, university_id: str, changes: dict, events: list[dict]) -> dict | None:
    """Set `changes` on a pending university, with its events; the record after, or None when it is not pending
    (another admin verified it meanwhile)."""
    return _set_while(db[UNIVERSITIES], {"_id": university_id, "status": "pending"}, changes, events)


def universities_page(db: Database, status: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """A page of the universities in `status`, newest registration first, without their contact details."""
    projection = {"outbox": 0, "outbox_pending": 0, "contact_email": 0, "registered_by": 0}
    return paginate(db[UNIVERSITIES], {"status": status}, limit, cursor, sort_field="created_at", projection=projection)


# ---- endorsements and organisations' keys -----------------------------------------------------------------


def insert_endorsement(db: Database, document: dict) -> None:
    """Store a new endorsement with its event; DuplicateKeyError when the application was endorsed already."""
    insert_aggregate(db[ENDORSEMENTS], document)


def endorsement(db: Database, endorsement_uuid: str) -> dict | None:
    """One endorsement record, or None."""
    return db[ENDORSEMENTS].find_one({"_id": endorsement_uuid}, {"outbox": 0})


def application_endorsed(db: Database, application_id: str) -> bool:
    """Whether an application's work was endorsed already."""
    return db[ENDORSEMENTS].find_one({"application_id": application_id}, {"_id": 1}) is not None


def endorsements_of_application(db: Database, application_id: str, org_id: str) -> list[dict]:
    """An organisation's endorsement of an application (at most one)."""
    return list(db[ENDORSEMENTS].find({"application_id": application_id, "org_id": org_id}, {"outbox": 0}))


def endorsements_of_credentials(db: Database, credential_uuids: list[str], signed: bool = True) -> list[dict]:
    """The endorsements of the credentials, oldest first (one query); `signed=False` leaves out their JSON."""
    projection = {"outbox": 0} if signed else {"outbox": 0, "json": 0}
    found = db[ENDORSEMENTS].find({"credential_uuid": {"$in": list(credential_uuids)}}, projection)
    return list(found.sort("issued_at", ASCENDING))


def standing_credential_of_application(db: Database, application_id: str) -> dict | None:
    """The application's credential that still stands (a re-issued one replaces its predecessor), or None."""
    return db[CREDENTIALS].find_one(
        {"application_id": application_id, "revoked": False}, {"outbox": 0}, sort=[("issued_at", DESCENDING)]
    )


def org_key_records(db: Database, org_id: str) -> list[dict]:
    """An organisation's signing key records, oldest first."""
    return list(db[ORG_SIGNING_KEYS].find({"owner": org_id}).sort("seq", ASCENDING))


def org_key_record(db: Database, record_id: str) -> dict | None:
    """One organisation key record by its id (`<org>/<key id>`), or None."""
    return db[ORG_SIGNING_KEYS].find_one({"_id": record_id})


def orgs_with_current_keys(db: Database) -> list[str]:
    """Every organisation that has a current signing key (it has endorsed something)."""
    return db[ORG_SIGNING_KEYS].distinct("owner", {"status": "current"})
