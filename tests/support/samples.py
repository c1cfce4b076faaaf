"""Valid request bodies as users send them, and stored documents, for tests that need one and vary a field or two."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from shared.events import new_event
from shared.fields import day_in_india
from shared.outbox import new_document_with_events


def today_in_india() -> date:
    """Today as people in India write it: the day a payment made now is dated (after 18:30 UTC it is tomorrow's
    date in UTC terms)."""
    return day_in_india(datetime.now(UTC))


def listing_body(**overrides) -> dict:
    """A valid new listing as an employer would post it."""
    return {
        "title": "Build an invoice parser",
        "summary": "Parse PDF invoices into structured JSON",
        "brief": "We receive 2,000 invoices a month and want them in our ledger automatically.",
        "deliverables": ["A parser with tests", "A short write-up"],
        "skills": ["Python", "PDF"],
        "category": "data",
        "duration_days": 14,
        "effort_hours": 40,
        "stipend": {"amount": "15000", "currency": "INR"},
        "seats": 2,
        "apply_by": (datetime.now(UTC) + timedelta(days=10)).isoformat(),
        "screening_questions": ["Which PDF libraries have you used?"],
        **overrides,
    }


def register_org(db, name: str) -> str:
    """A state change and its event, written as one document (an organisation with its org.registered)."""
    org_id = uuid.uuid4().hex
    data = {"org_id": org_id, "name": name, "status": "pending"}
    event = new_event("stint.org.registered.v1", "listing", org_id, data)
    db.orgs.insert_one(new_document_with_events({"_id": org_id, "name": name, "status": "pending"}, [event]))
    return org_id
