"""Use cases of credit requests: a student asks a verified university for credit; each side lists its queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.certification import store
from services.certification.domain import (
    OPEN,
    VERIFIED,
    CredentialRevoked,
    CreditRequestExists,
    NotYourCredential,
    UniversityNotFound,
    UniversityNotVerified,
)
from services.certification.issuing import SOURCE, credential_record
from services.certification.runtime import Runtime
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events import new_event
from shared.outbox import new_document_with_events

log = structlog.get_logger(__name__)
# Request ids are derived from (credential, university), so "one request per pair" is an insert under its _id.
_REQUEST_NAMESPACE = uuid.UUID("0c7a4f0e-5b4e-4f5d-8a55-3f1f7b9e2d61")


def request_id_for(credential_uuid: str, university_id: str) -> str:
    """The one id of the request for credit for a credential at a university."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{credential_uuid}|{university_id}"))


def request_credit(runtime: Runtime, principal: Principal, body: dict, traceparent=None) -> dict:
    """A student asks a verified university for credit for one of their own unrevoked credentials."""
    record = credential_record(runtime, body["credential_id"])
    if record["student"]["id"] != principal.sub:
        raise NotYourCredential("you can ask for credit only for your own credentials")
    if record.get("revoked"):
        raise revoked_credential(record, "no credit can be asked for it")
    university = store.university(runtime.db, body["university_id"])
    if university is None:
        raise UniversityNotFound(f"no university {body['university_id']!r}")
    if university["status"] != VERIFIED:
        raise UniversityNotVerified("this university is not verified yet; it cannot decide credit")
    request_id = request_id_for(record["_id"], university["_id"])
    now = datetime.now(UTC)
    request = {
        "_id": request_id,
        "credential_id": record["_id"],
        "university_id": university["_id"],
        "university_name": university["name"],
        "student": record["student"],
        "apaar_id": body.get("apaar_id") or "",
        "note": body.get("note", ""),
        "status": OPEN,
        "created_at": now,
        "decided_at": None,
        "credential": _credential_summary(record),
    }
    event = new_event(
        "stint.credit.requested.v1",
        SOURCE,
        request_id,
        {
            "request_id": request_id,
            "credential_id": record["credential_id"],
            "student": record["student"],
            "university_id": university["_id"],
            "university_name": university["name"],
            # Carried, not looked up: the notification service may read this before the university's own events.
            "university_contact_email": university.get("contact_email", ""),
            "listing_title": record.get("listing_title", ""),
            "employer": record.get("org_name", ""),
            "hours": record["hours"],
            "note": request["note"],
            "verification_url": record["verification_url"],
        },
        traceparent,
    )
    try:
        store.insert_credit_request(runtime.db, new_document_with_events(request, [event]))
    except DuplicateKeyError:
        existing = store.credit_request(runtime.db, request_id) or {}
        raise CreditRequestExists(
            f"you already asked {university['name']} about this credential (request {request_id}, "
            f"{existing.get('status', OPEN)})",
            details={"request_id": request_id, "status": existing.get("status", OPEN)},
        ) from None
    log.info("credit_requested", request_id=request_id, university_id=university["_id"])
    return request


def revoked_credential(record: dict, consequence: str) -> CredentialRevoked:
    """The 409 for a revoked credential; one replaced by a re-issue names its successor, which is the one to use."""
    successor = record.get("superseded_by")
    if successor:
        return CredentialRevoked(
            f"the credential was replaced by a re-issued one (urn:uuid:{successor}): {consequence}; "
            "the student asks again for the re-issued credential",
            code="credential_reissued",
            details={"successor": f"urn:uuid:{successor}"},
        )
    return CredentialRevoked(f"the credential has been revoked; {consequence}")


def _credential_summary(record: dict) -> dict:
    """What the registrar needs to judge the credential without opening it."""
    return {
        "id": record["credential_id"],
        "listing_title": record.get("listing_title", ""),
        "employer": record.get("org_name", ""),
        "hours": record["hours"],
        "credits_recommended": record["credits_recommended"],
        "activity_start": str(record.get("started_on", "")),
        "activity_end": str(record.get("completed_on", "")),
        "issued_at": record["issued_at"],
        "verification_url": record["verification_url"],
    }


def list_requests(runtime: Runtime, principal: Principal, status: str | None, limit: int, cursor: str | None):
    """A student's own requests, or the requests addressed to the caller's university, newest first."""
    if principal.role == "student":
        page = store.credit_requests_page(runtime.db, limit, cursor, status, student_id=principal.sub)
    elif principal.role == "university":
        page = store.credit_requests_page(runtime.db, limit, cursor, status, university_id=principal.org)
    else:
        raise Forbidden("credit requests are a student's and their university's", code="wrong_role")
    items, next_cursor = page
    return _with_current_state(runtime.db, items), next_cursor


def _with_current_state(db: Database, items: list[dict]) -> list[dict]:
    """Each request with its decision (closing a request whose decision was stored but not yet noted on it) and
    whether its credential has been revoked since."""
    decisions = store.decisions_by_ids(db, [item["_id"] for item in items if item["status"] == OPEN])
    credentials = store.credentials_by_ids(db, [item["credential_id"] for item in items])
    for item in items:
        decision = decisions.get(item["_id"])
        if decision is not None:
            store.close_credit_request(db, item["_id"], decision)
            item |= {"status": decision["decision"], "decided_at": decision["decided_at"]}
        credential = credentials.get(item["credential_id"], {})
        item["credential"] = {**item["credential"], "revoked": bool(credential.get("revoked"))}
        if credential.get("superseded_by"):
            item["credential"]["superseded_by"] = f"urn:uuid:{credential['superseded_by']}"
    return items
