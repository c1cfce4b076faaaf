"""Use cases of a university's credit: its credit policy, its decisions on credit requests and the CSV export of
accepted credits (a student asking for credit: credit_requests.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.certification import store
from services.certification.credit_requests import request_id_for, revoked_credential
from services.certification.domain import (
    CreditPolicy,
    DecisionExists,
    check_credit_decision,
    check_may_decide,
)
from services.certification.issuing import SOURCE, credential_record, event_summary
from services.certification.runtime import Runtime
from shared.auth import Principal
from shared.events import new_event
from shared.outbox import new_document_with_events

EXPORT_COLUMNS = [
    "credential_id",
    "student_name",
    "listing_title",
    "employer",
    "hours",
    "credits",
    "course_code",
    "term",
    "decided_at",
    "apaar_id",
]
EXPORT_LIMIT = 50_000


def set_policy(db: Database, principal: Principal, hours_per_credit: float, min_hours: float) -> dict:
    """Create or replace the caller's university credit policy."""
    store.save_policy(db, principal.org, hours_per_credit, min_hours, principal.sub, datetime.now(UTC))
    return policy_view(db, principal.org)


def policy_view(db: Database, org: str) -> dict:
    """The university's policy as the API shows it (the default when none was set)."""
    record = store.policy_of(db, org)
    policy = CreditPolicy.from_record(record)
    return {
        "university_org": org,
        "hours_per_credit": policy.hours_per_credit,
        "min_hours": policy.min_hours,
        "updated_at": record.get("updated_at") if record else None,
    }


def decide_credit(runtime: Runtime, principal: Principal, credential_id: str, decision: dict) -> dict:
    """Record a verified university's one decision on a student's request for credit, close the request and emit
    credit_decided."""
    record = credential_record(runtime, credential_id)
    request_id = request_id_for(record["_id"], principal.org)
    request = store.credit_request(runtime.db, request_id)
    existing = store.decisions_by_ids(runtime.db, [request_id]).get(request_id)
    if existing is not None and request is not None:
        store.close_credit_request(runtime.db, request_id, existing)  # heal a close that a crash interrupted
        raise DecisionExists("your university already decided on this credit request")
    check_may_decide(store.university(runtime.db, principal.org), request)
    if record.get("revoked"):
        raise revoked_credential(record, "no credit can be decided on it")
    policy = CreditPolicy.from_record(store.policy_of(runtime.db, principal.org))
    credits = check_credit_decision(policy, record["hours"], decision["decision"], decision["credits_awarded"])
    details = {
        "decision": decision["decision"],
        "credits_awarded": credits,
        "course_code": decision.get("course_code", ""),
        "term": decision.get("term", ""),
        "note": decision.get("note", ""),
    }
    event = new_event(
        "stint.certificate.credit_decided.v1",
        SOURCE,
        record["credential_id"],
        {
            **event_summary(record),
            "university_org": principal.org,
            "request_id": request_id,
            **details,
        },
    )
    # The decision's _id is its request's: a second decision on one request is a duplicate key, on any server.
    document = {
        "_id": request_id,
        "credential_id": record["_id"],
        "university_org": principal.org,
        "decided_by": principal.sub,
        "decided_at": datetime.now(UTC),
        **details,
        "student_name": record["student"].get("name", ""),
        "apaar_id": request.get("apaar_id", ""),
        "listing_title": record.get("listing_title", ""),
        "employer": record.get("org_name", ""),
        "hours": record["hours"],
        "hours_per_credit": policy.hours_per_credit,
    }
    try:
        store.insert_credit_decision(runtime.db, new_document_with_events(document, [event]))
    except DuplicateKeyError:
        raise DecisionExists("your university already decided on this credit request") from None
    store.close_credit_request(runtime.db, request_id, document)
    document.pop("outbox", None)
    return document


def list_decisions(db: Database, org: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """A page of the university's decisions, newest first."""
    return store.decisions_page(db, org, limit, cursor)


def export_accepted_csv(db: Database, org: str) -> str:
    """CSV of the university's accepted credits, oldest decision first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in store.accepted_decisions(db, org, EXPORT_LIMIT):
        writer.writerow(
            [
                f"urn:uuid:{row['credential_id']}",
                _cell(row.get("student_name", "")),
                _cell(row.get("listing_title", "")),
                _cell(row.get("employer", "")),
                f"{row['hours']:g}",
                f"{row['credits_awarded']:g}",
                _cell(row.get("course_code", "")),
                _cell(row.get("term", "")),
                row["decided_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                row.get("apaar_id", ""),
            ]
        )
    return buffer.getvalue()


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in free text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
