"""Use cases of universities: a registrar registers their university, an admin verifies it, anyone finds it."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

from services.certification import store
from services.certification.domain import (
    PENDING,
    VERIFIED,
    AisheCodeTaken,
    UniversityNotFound,
    check_profile_change,
)
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events import new_event
from shared.outbox import new_document_with_events

log = structlog.get_logger(__name__)
SOURCE = "certification"
PROFILE_FIELDS = ("name", "aishe_code", "website")


def _snapshot(university: dict) -> dict:
    """The data of university.registered|verified (the notification service keeps it as an organisation)."""
    return {
        "org_id": university["_id"],
        "name": university["name"],
        "aishe_code": university["aishe_code"],
        "website": university.get("website", ""),
        "status": university["status"],
        "contact_email": university.get("contact_email", ""),
    }


def register_university(db: Database, principal: Principal, profile: dict, traceparent=None) -> dict:
    """Create the caller's university (pending, announced) or update its profile."""
    now = datetime.now(UTC)
    existing = store.university(db, principal.org)
    if existing is None:
        university = {
            "_id": principal.org,
            **{field: profile[field] for field in PROFILE_FIELDS},
            "status": PENDING,
            "contact_email": principal.email,
            "registered_by": principal.sub,
            "created_at": now,
            "updated_at": now,
            "verified_at": None,
        }
        event = new_event("stint.university.registered.v1", SOURCE, principal.org, _snapshot(university), traceparent)
        try:
            store.insert_university(db, new_document_with_events(university, [event]))
        except DuplicateKeyError as exc:
            if store.university(db, principal.org) is None:  # not our _id: the AISHE code is someone else's
                raise _aishe_taken(profile["aishe_code"]) from exc
            return register_university(db, principal, profile, traceparent)  # a concurrent first call won
        log.info("university_registered", university_id=principal.org)
        return university
    check_profile_change(existing, profile["aishe_code"])
    holder = store.university_with_aishe_code(db, profile["aishe_code"])
    if holder is not None and holder["_id"] != principal.org:
        raise _aishe_taken(profile["aishe_code"])
    try:
        values = {**{field: profile[field] for field in PROFILE_FIELDS}, "updated_at": now}
        updated = store.update_university_profile(db, principal.org, values)
    except OperationFailure as exc:  # a concurrent update took the code; FerretDB reports it as InternalError
        if isinstance(exc, DuplicateKeyError) or "UNIQUE constraint failed" in str(exc):
            raise _aishe_taken(profile["aishe_code"]) from exc
        raise
    return updated


def _aishe_taken(code: str) -> AisheCodeTaken:
    return AisheCodeTaken(
        f"another university is registered with AISHE code {code}; ask an admin if it is yours",
        details={"aishe_code": code},
    )


def verify_university(db: Database, university_id: str, admin_id: str, traceparent=None) -> dict:
    """Mark a university verified (announced once); verifying again changes nothing."""
    university = store.university(db, university_id)
    if university is None:
        raise UniversityNotFound(f"no university {university_id!r}")
    if university["status"] == VERIFIED:
        return university
    now = datetime.now(UTC)
    changes = {"status": VERIFIED, "verified_at": now, "verified_by": admin_id, "updated_at": now}
    event = new_event(
        "stint.university.verified.v1", SOURCE, university_id, _snapshot({**university, **changes}), traceparent
    )
    verified = store.mark_university_verified(db, university_id, changes, [event])
    if verified is None:  # another admin verified it meanwhile
        return store.university(db, university_id)
    log.info("university_verified", university_id=university_id, admin=admin_id)
    return verified


def get_university(db: Database, university_id: str, principal: Principal | None) -> dict:
    """A university's public profile; a pending one only to admins and its own registrars."""
    university = store.university(db, university_id)
    may_see_pending = principal is not None and (principal.role == "admin" or principal.is_member_of(university_id))
    if university is None or (university["status"] != VERIFIED and not may_see_pending):
        raise UniversityNotFound(f"no verified university {university_id!r}")
    return university


def list_universities(db: Database, principal: Principal | None, status: str, limit: int, cursor: str | None):
    """Verified universities for anyone (a student picks one); pending ones are the admin's queue."""
    if status != VERIFIED and (principal is None or principal.role != "admin"):
        raise Forbidden("only an admin sees universities waiting for verification", code="admin_only")
    return store.universities_page(db, status, limit, cursor)
