"""Valid request bodies as users send them, for tests that need one and vary a field or two."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


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
