"""Sample event data and document helpers shared by the certification tests."""

from __future__ import annotations

import uuid


def work_approved_data(**overrides) -> dict:
    """The data of a stint.work.approved.v1 event, as the application service sends it."""
    application_id = overrides.pop("application_id", uuid.uuid4().hex)
    data = {
        "application_id": application_id,
        "listing_id": "listing-42",
        "listing_title": "Customer survey analysis",
        "org_id": "org-acme",
        "student": {"id": "student-1", "name": "Asha Rao", "email": "asha@example.org"},
        "round": 1,
        "links": ["https://github.com/asha/survey", "https://docs.example.org/report"],
        "notes": "Report and notebook attached.",
        "hours_spent": 46,
        "feedback": "Clear, careful work.",
        "listing": {
            "listing_id": "listing-42",
            "title": "Customer survey analysis",
            "summary": "Analyse 2,000 survey answers and report the three biggest issues.",
            "brief": "We ran a customer survey and need an analysis.",
            "deliverables": ["A cleaned dataset", "A 5-page report with charts"],
            "skills": ["Python", "Data analysis", "Writing"],
            "category": "data",
            "effort_hours": 60,
            "duration_days": 14,
            "org_id": "org-acme",
            "org_name": "Acme Analytics",
            "org_website": "https://acme.example.com",
        },
        "hours_verified": 45,
        "skills_demonstrated": ["Python", "Data analysis"],
        "rating": 4,
        "approver": {"id": "employer-1", "name": "Ravi Menon", "email": "ravi@acme.example.com"},
        "started_on": "2026-01-05",
        "completed_on": "2026-01-16",
        "submission": {
            "links": ["https://github.com/asha/survey", "https://docs.example.org/report"],
            "notes": "Report and notebook attached.",
            "digest": "a" * 64,
        },
    }
    data.update(overrides)
    return data


def reordered(value):
    """The same JSON with every object's keys in reverse order (as a wallet might hand a credential back)."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value
