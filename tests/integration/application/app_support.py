"""Helpers for the application service's integration tests: listing events, people, one-line HTTP calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.events import new_event

ORG = "org-acme"
OTHER_ORG = "org-globex"


def auth_header(bearer: str) -> dict:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {bearer}"}


def listing_snapshot(listing_id: str | None = None, **overrides) -> dict:
    """A published listing as the listing service's events describe it."""
    snapshot = {
        "listing_id": listing_id or uuid.uuid4().hex[:24],
        "org_id": ORG,
        "org_name": "Acme Analytics",
        "org_status": "verified",
        "title": "Clean up a sales dashboard",
        "summary": "Tidy the weekly sales dashboard",
        "brief": "Our dashboard is slow and confusing; make it fast and clear.",
        "deliverables": ["a cleaned dashboard", "a one-page note"],
        "skills": ["sql", "data visualisation"],
        "category": "data",
        "duration_days": 14,
        "effort_hours": 40.0,
        "stipend": {"amount": "500.00", "currency": "EUR"},
        "seats": 3,
        "seats_filled": 0,
        "apply_by": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "screening_questions": ["Which BI tools have you used?"],
        "status": "published",
        "version": 1,
        "published_at": datetime.now(UTC).isoformat(),
    }
    snapshot.update(overrides)
    return snapshot


def listing_event(kind: str = "published", **overrides) -> dict:
    """A `stint.listing.<kind>.v1` event carrying a listing snapshot."""
    snapshot = listing_snapshot(**overrides)
    return new_event(f"stint.listing.{kind}.v1", "listing", snapshot["listing_id"], snapshot)


@dataclass
class People:
    """Tokens for everyone who may knock on the service."""

    student: str
    other_student: str
    employer: str
    other_employer: str
    university: str
    admin: str


class Calls:
    """The service's HTTP API as one-line calls, so tests read as sentences."""

    def __init__(self, client, people: People):
        self.client = client
        self.people = people

    def apply(self, bearer: str, listing: dict, answers=None, cover_note: str = "I love tidy dashboards."):
        """POST /applications for `listing`, answering every question unless told otherwise."""
        if answers is None:
            answers = [f"answer {n}" for n, _ in enumerate(listing["screening_questions"], 1)]
        body = {"listing_id": listing["listing_id"], "cover_note": cover_note, "answers": answers}
        return self.client.post("/applications", json=body, headers=auth_header(bearer))

    def act(self, bearer: str, application_id: str, action: str, json=None):
        """POST /applications/{id}/{action}."""
        return self.client.post(f"/applications/{application_id}/{action}", json=json, headers=auth_header(bearer))

    def get(self, bearer: str, application_id: str):
        """GET /applications/{id}."""
        return self.client.get(f"/applications/{application_id}", headers=auth_header(bearer))

    def submit(self, bearer: str, application_id: str, hours: float = 30, links=None, notes: str = "Done."):
        """POST /applications/{id}/submissions."""
        body = {"links": links or ["https://github.com/asha/dashboard"], "notes": notes, "hours_spent": hours}
        return self.act(bearer, application_id, "submissions", body)

    def review(self, bearer: str, application_id: str, decision: str, **fields):
        """POST /applications/{id}/review."""
        return self.act(bearer, application_id, "review", {"decision": decision, **fields})

    def applied(self, listing: dict, bearer: str | None = None) -> str:
        """An application id, freshly applied."""
        response = self.apply(bearer or self.people.student, listing)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def accepted(self, listing: dict, bearer: str | None = None) -> str:
        """An application id, applied and accepted."""
        application_id = self.applied(listing, bearer)
        response = self.act(self.people.employer, application_id, "accept")
        assert response.status_code == 200, response.get_json()
        return application_id

    def submitted(self, listing: dict, bearer: str | None = None) -> str:
        """An application id whose work was submitted once."""
        application_id = self.accepted(listing, bearer)
        response = self.submit(bearer or self.people.student, application_id)
        assert response.status_code == 201, response.get_json()
        return application_id


def outbox_types(db, application_id: str) -> list[str]:
    """The types of the events waiting in an application's outbox, oldest first."""
    document = db.applications.find_one({"_id": application_id})
    return [event["type"] for event in document.get("outbox", [])]
