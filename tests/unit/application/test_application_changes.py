"""The changes the use cases decide, before the store writes them (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.application.applications import transition
from services.application.domain import Actor

EMPLOYER = Actor("emp-carla", "employer", "org-acme", "Carla Diaz", "carla@acme.example")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
APPLIED = {"_id": "app-1", "status": "applied", "version": 1}


def test_a_step_records_its_new_status_who_took_it_when_and_why():
    change = transition(APPLIED, "shortlisted", EMPLOYER, NOW, note="strong portfolio")

    assert change.fields == {"status": "shortlisted", "updated_at": NOW}
    assert change.appended == {
        "history": {
            "status": "shortlisted",
            "previous_status": "applied",
            "by": {"id": "emp-carla", "role": "employer"},
            "at": NOW,
            "note": "strong portfolio",
        }
    }
    assert change.raised == {}


def test_a_step_carries_what_else_it_sets_appends_and_counts():
    review = {"round": 1, "decision": "request_changes"}
    change = transition(
        {**APPLIED, "status": "submitted"},
        "changes_requested",
        EMPLOYER,
        NOW,
        fields={"latest_review": review},
        appended={"reviews": review},
        raised={"change_rounds": 1},
    )

    assert change.fields == {"status": "changes_requested", "updated_at": NOW, "latest_review": review}
    assert set(change.appended) == {"history", "reviews"} and change.appended["reviews"] == review
    assert change.raised == {"change_rounds": 1}
