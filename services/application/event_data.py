"""The events this service publishes, built from an application document (catalog: shared/events.py)."""

from __future__ import annotations

from datetime import datetime

from shared.events import new_event

SOURCE = "application"


def application_event(app: dict, previous_status: str | None, traceparent: str | None = None) -> dict:
    """`stint.application.<status>.v1` for an application that has just become `app["status"]`."""
    status = app["status"]
    event_name = "submitted" if status == "applied" else status
    data = {
        "application_id": app["_id"],
        "listing_id": app["listing_id"],
        "listing_title": app["listing_title"],
        "org_id": app["org_id"],
        "student": app["student"],
        "status": status,
        "previous_status": previous_status,
    }
    return new_event(f"stint.application.{event_name}.v1", SOURCE, app["_id"], data, traceparent)


def work_data(app: dict, submission: dict, feedback: str = "") -> dict:
    """What every `stint.work.*` event says about a round of submitted work."""
    return {
        "application_id": app["_id"],
        "listing_id": app["listing_id"],
        "listing_title": app["listing_title"],
        "org_id": app["org_id"],
        "student": app["student"],
        "round": submission["round"],
        "links": submission["links"],
        "notes": submission["notes"],
        "hours_spent": submission["hours_spent"],
        "feedback": feedback,
    }


def work_event(kind: str, app: dict, submission: dict, feedback: str = "", traceparent: str | None = None) -> dict:
    """`stint.work.<kind>.v1` (submitted, changes_requested, rejected)."""
    return new_event(f"stint.work.{kind}.v1", SOURCE, app["_id"], work_data(app, submission, feedback), traceparent)


def work_approved_event(
    app: dict,
    submission: dict,
    review: dict,
    listing: dict,
    org: dict | None,
    approved_at: datetime,
    traceparent: str | None = None,
) -> dict:
    """`stint.work.approved.v1`: everything a credential needs, so the certification service never calls back."""
    data = {
        **work_data(app, submission, review["feedback"]),
        "listing": {
            "listing_id": listing["_id"],
            "title": listing["title"],
            "summary": listing.get("summary", ""),
            "brief": listing.get("brief", ""),
            "deliverables": listing.get("deliverables", []),
            "skills": listing.get("skills", []),
            "category": listing.get("category", ""),
            "effort_hours": listing["effort_hours"],
            "duration_days": listing["duration_days"],
            "org_id": listing["org_id"],
            "org_name": listing["org_name"],
            "org_website": (org or {}).get("website") or "",
            "stipend": listing.get("stipend"),
        },
        "hours_verified": review["hours_verified"],
        "skills_demonstrated": review["skills_demonstrated"],
        "rating": review["rating"],
        "approver": review["reviewer"],
        "started_on": app["accepted_at"].date(),
        "completed_on": approved_at.date(),
        "submission": {"links": submission["links"], "notes": submission["notes"], "digest": submission["digest"]},
    }
    return new_event("stint.work.approved.v1", SOURCE, app["_id"], data, traceparent)


def payment_event(app: dict, payment: dict, previous_status: str | None, traceparent: str | None = None) -> dict:
    """`stint.payment.<status>.v1` for a payment that has just become `payment["status"]`."""
    dispute = payment.get("dispute") or {}
    data = {
        "application_id": app["_id"],
        "listing_id": app["listing_id"],
        "listing_title": app["listing_title"],
        "org_id": app["org_id"],
        "student": app["student"],
        "status": payment["status"],
        "previous_status": previous_status,
        "amount": payment["amount"],
        "currency": payment["currency"],
        "paid_on": payment["paid_on"],
        "reference": payment["reference"],
        "reason": dispute.get("reason", ""),
        "disputed_at": dispute.get("raised_at"),
    }
    status = payment["status"]
    return new_event(f"stint.payment.{status}.v1", SOURCE, app["_id"], data, traceparent)
