"""Issuing: on stint.work.approved.v1 the worker issues one signed Open Badges 3.0 credential per application
(idempotent): a random place on an open status list, the skills' pages first, the signed document, the student's
list, then the record with its certificate.issued event. Also reading an issued credential back by id, which the
other use cases (verifying, revoking, credit) start from.

Revoking one: revoking.py; a compromised key and the re-issue: key_revocation.py; the issuer's DID document, key
rotation, status lists and skill pages: issuer.py.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import structlog
from pymongo.errors import DuplicateKeyError

from services.certification import dataintegrity as di
from services.certification import store
from services.certification.credential import (
    StatusEntry,
    build_credential,
    credits_for,
    skill_slug,
    skills_of,
    utc_timestamp,
)
from services.certification.runtime import Runtime
from services.certification.statuslist import LIST_FILL_LIMIT, LIST_SIZE, random_index
from shared.errors import NotFound
from shared.events import Event, new_event
from shared.outbox import new_document_with_events

log = structlog.get_logger(__name__)
SOURCE = "certification"
ISSUE_ATTEMPTS = 8
STATUS_PLACES_PER_TAKE = 32


def issue_credential(runtime: Runtime, event: Event) -> dict:
    """stint.work.approved.v1 → one signed OpenBadgeCredential per application (idempotent)."""
    application_id = event.data.application_id
    existing = store.credential_for_application(runtime.db, application_id)
    if existing is not None:
        return {"credential_id": existing["credential_id"], "already_issued": True}
    work = dataclasses.asdict(event.data)  # the approval, typed values, as the credential's builders read it
    _publish_skills(runtime, skills_of(work))
    for _ in range(ISSUE_ATTEMPTS):
        record, signed = _signed_record(runtime, work, event.traceparent)
        store.save_signed_document(runtime.db, record["_id"], signed)
        store.list_student_credential(runtime.db, record)  # first, so it is listed as soon as anyone can learn of it
        try:
            store.insert_credential(runtime.db, record)
        except DuplicateKeyError:
            store.unlist_student_credential(runtime.db, record)
            store.forget_signed_document(runtime.db, record["_id"])
            existing = store.credential_for_application_after_conflict(runtime.db, application_id)
            if existing is not None:  # issued first by a concurrent delivery, or by one that died before its note
                return {"credential_id": existing["credential_id"], "already_issued": True}
            continue  # the random status bit was taken: draw again
        store.remember_issued(runtime.db, application_id, record["_id"])
        log.info("credential_issued", credential_id=record["credential_id"], application_id=application_id)
        return {"credential_id": record["credential_id"]}
    raise RuntimeError("no free status list position found")


def issue_credentials(runtime: Runtime, events: list[Event]) -> list[dict]:
    """A run of stint.work.approved.v1 at once (the worker's batch handler, shared.consumer): each credential is
    made and signed as `issue_credential` makes it, then the run's signed documents, records (with their events)
    and notes are stored with one insert each and each student's list changed once. An approval the run cannot
    store so (seen twice in the run, a status bit drawn twice, a credential a concurrent delivery stored first)
    is issued alone afterwards. One effect per event, in order.

    No application's note is read first: the consumer skips an event it handled, so a credential is stored already
    only for one redelivered after its handler died before that record, which the unique index on the application
    refuses; the alone path then finds it by its note (a read every approval paid for that rare case)."""
    db = runtime.db
    effects: dict[str, dict] = {}
    made: list[tuple[Event, dict, di.SignedCopy]] = []
    alone: list[Event] = []
    applications: set[str] = set()
    for event in events:
        application_id = event.data.application_id
        if application_id in applications:
            alone.append(event)
            continue
        applications.add(application_id)
        work = dataclasses.asdict(event.data)
        _publish_skills(runtime, skills_of(work))
        made.append((event, *_signed_record(runtime, work, event.traceparent)))
    if made:
        store.save_signed_documents(db, {record["_id"]: signed for _, record, signed in made})
        store.list_student_credentials(db, [record for _, record, _ in made])  # listed first, as alone
        stored = store.insert_credentials(db, [record for _, record, _ in made])
        for event, record, _ in made:
            if record["_id"] in stored:
                effects[event.id] = {"credential_id": record["credential_id"]}
                credential_id, application_id = record["credential_id"], record["application_id"]
                log.info("credential_issued", credential_id=credential_id, application_id=application_id)
            else:
                store.unlist_student_credential(db, record)
                store.forget_signed_document(db, record["_id"])
                alone.append(event)
        store.remember_all_issued(db, {r["application_id"]: r["_id"] for _, r, _ in made if r["_id"] in stored})
    for event in alone:
        effects[event.id] = issue_credential(runtime, event)
    return [effects[event.id] for event in events]


def _publish_skills(runtime: Runtime, skills: list[str]) -> None:
    """Every skill a credential aligns to gets its public page before the credential exists."""
    for skill in skills:
        slug = skill_slug(skill)
        if slug not in runtime.published_skills:
            store.remember_skill(runtime.db, slug, skill)
            runtime.published_skills.add(slug)


def _signed_record(runtime: Runtime, work: dict, traceparent: str | None) -> tuple[dict, di.SignedCopy]:
    """A new credential record (with its issued event) and the signed credential (with what was signed)."""
    credential_uuid = str(uuid.uuid4())
    credential_id = f"urn:uuid:{credential_uuid}"
    list_id, index = open_status_list(runtime), random_index()
    signing = runtime.keyring.current()
    now = datetime.now(UTC).replace(microsecond=0)
    unsigned = build_credential(
        work,
        credential_id=credential_id,
        issuer_did=runtime.did,
        public_url=runtime.public_url,
        issued_at=now,
        status=StatusEntry(runtime.status_list_url(list_id), index),
    )
    options = di.proof_options(f"{runtime.did}#{signing.key_id}", utc_timestamp(now))
    signed = di.sign(unsigned, options, signing.private_key)
    listing = work["listing"]
    summary = {
        "credential_id": credential_id,
        "application_id": work["application_id"],
        "student": work["student"],
        "org_id": listing["org_id"],
        "listing_title": listing["title"],
        "verification_url": runtime.verification_url(credential_uuid),
    }
    issued = new_event(
        "stint.certificate.issued.v1",
        SOURCE,
        credential_id,
        {**summary, "hours": work["hours_verified"], "credits_recommended": credits_for(work["hours_verified"])},
        traceparent=traceparent,
    )
    document = {
        "_id": credential_uuid,
        **summary,
        "listing_id": listing["listing_id"],
        "org_name": listing["org_name"],
        "hours": float(work["hours_verified"]),
        "credits_recommended": credits_for(work["hours_verified"]),
        "started_on": str(work["started_on"]),
        "completed_on": str(work["completed_on"]),
        "issued_at": now,
        "key_id": signing.key_id,
        "status_list_id": list_id,
        "status_index": index,
        "revoked": False,
        "reissue_of": "",
    }
    return new_document_with_events(document, [issued]), signed


def open_status_list(runtime: Runtime) -> str:
    """A place on the newest list that is not yet half full, or on a new list. Places are counted on the list
    STATUS_PLACES_PER_TAKE at a time and handed out from the process's memory (one locked write per that many
    credentials, not per credential); a process that stops leaves its unused ones counted, so a list is a little
    less than half full when the next one opens."""
    with runtime.status_places_lock:
        if runtime.status_places_left == 0:
            taken = store.take_status_list_places(runtime.db, LIST_FILL_LIMIT, STATUS_PLACES_PER_TAKE)
            if taken is None:
                taken = uuid.uuid4().hex
                store.insert_status_list(runtime.db, taken, LIST_SIZE, datetime.now(UTC), STATUS_PLACES_PER_TAKE)
            runtime.status_list_id, runtime.status_places_left = taken, STATUS_PLACES_PER_TAKE
        runtime.status_places_left -= 1
        return runtime.status_list_id


# ---- reading an issued credential ---------------------------------------------------------


def credential_record(runtime: Runtime, credential_id: str) -> dict:
    """The stored credential record (by uuid or urn:uuid); NotFound when there is none."""
    credential_uuid = store.parse_uuid(credential_id)
    record = store.credential_by_id(runtime.db, credential_uuid) if credential_uuid else None
    if record is None:
        raise NotFound("no such credential", code="credential_not_found")
    return record


def event_summary(record: dict) -> dict:
    """What every event about an issued credential says of it (revoked, credit decided)."""
    return {
        "credential_id": record["credential_id"],
        "application_id": record["application_id"],
        "student": record["student"],
        "org_id": record.get("org_id", ""),
        "listing_title": record.get("listing_title", ""),
        "verification_url": record["verification_url"],
    }


def credential_document(runtime: Runtime, credential_id: str) -> dict:
    """The signed credential JSON."""
    return store.signed_document(runtime.db, credential_record(runtime, credential_id)["_id"])
