"""The events the service builds pass the shared catalog; the worker's dispatch table; request schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime

import marshmallow as ma
import pytest

from services.application import event_data, worker
from services.application.schemas import ApplyRequestSchema, ReviewRequestSchema, SubmissionRequestSchema
from shared.events import encode_event, parse_event
from shared.worker import bind_handlers

APP = {
    "_id": "0f9a4a8e-8d0e-4c8e-9a53-4f4f6f0e2a11",
    "listing_id": "L-1",
    "listing_title": "Clean up a sales dashboard",
    "org_id": "acme",
    "student": {"id": "stu-1", "name": "Asha Rao", "email": "asha@uni.example"},
    "status": "accepted",
    "accepted_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
}
SUBMISSION = {"round": 2, "links": ["https://example.org/r"], "notes": "v2", "hours_spent": 30.0, "digest": "a" * 64}
LISTING = {
    "_id": "L-1",
    "title": "Clean up a sales dashboard",
    "summary": "Tidy it",
    "brief": "Make it fast",
    "deliverables": ["dashboard"],
    "skills": ["sql"],
    "category": "data",
    "effort_hours": 40.0,
    "duration_days": 14,
    "org_id": "acme",
    "org_name": "Acme Analytics",
    "stipend": {"amount": "15000.00", "currency": "INR"},
}
REVIEW = {
    "feedback": "Great",
    "rating": 5,
    "hours_verified": 30.0,
    "skills_demonstrated": ["sql"],
    "reviewer": {"id": "emp-1", "name": "Carla", "email": "carla@acme.example"},
}


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        ("applied", "stint.application.submitted.v1"),
        ("shortlisted", "stint.application.shortlisted.v1"),
        ("accepted", "stint.application.accepted.v1"),
        ("rejected", "stint.application.rejected.v1"),
        ("withdrawn", "stint.application.withdrawn.v1"),
    ],
)
def test_application_events_are_named_after_the_new_status_and_pass_the_catalog(status, event_type):
    event = event_data.application_event({**APP, "status": status}, "applied", traceparent=None)

    assert event["type"] == event_type
    assert event["subject"] == APP["_id"]
    assert parse_event(encode_event(event))["data"]["status"] == status


@pytest.mark.parametrize("kind", ["submitted", "changes_requested", "rejected"])
def test_work_events_carry_the_round_and_links(kind):
    event = event_data.work_event(
        kind, APP, SUBMISSION, feedback="more", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    )

    parsed = parse_event(encode_event(event))

    assert parsed["type"] == f"stint.work.{kind}.v1"
    assert (parsed["data"]["round"], parsed["data"]["links"]) == (2, ["https://example.org/r"])
    assert parsed["traceparent"].startswith("00-111")


def test_the_approved_event_carries_the_listing_snapshot_dates_and_digest():
    approved_at = datetime(2026, 3, 20, 23, 59, tzinfo=UTC)

    event = event_data.work_approved_event(
        APP, SUBMISSION, REVIEW, LISTING, {"website": "https://acme.example"}, approved_at
    )

    data = parse_event(encode_event(event))["data"]
    assert data["listing"]["org_website"] == "https://acme.example"
    assert data["listing"]["effort_hours"] == 40.0
    assert (data["started_on"], data["completed_on"]) == (date(2026, 3, 2).isoformat(), "2026-03-20")
    assert data["submission"] == {"links": ["https://example.org/r"], "notes": "v2", "digest": "a" * 64}
    assert data["approver"]["email"] == "carla@acme.example"


def test_the_approved_event_carries_the_stipend_the_listing_pays():
    event = event_data.work_approved_event(APP, SUBMISSION, REVIEW, LISTING, None, datetime.now(UTC))

    assert parse_event(encode_event(event))["data"]["listing"]["stipend"] == {"amount": "15000.00", "currency": "INR"}


def test_an_unknown_organisation_website_is_left_empty():
    event = event_data.work_approved_event(APP, SUBMISSION, REVIEW, LISTING, None, datetime.now(UTC))

    assert event["data"]["listing"]["org_website"] == ""


def test_the_worker_dispatches_exactly_the_listing_org_and_credential_events():
    assert set(worker.HANDLERS) == {
        "stint.listing.published.v1",
        "stint.listing.updated.v1",
        "stint.listing.closed.v1",
        "stint.org.registered.v1",
        "stint.org.verified.v1",
        "stint.certificate.issued.v1",
        "stint.certificate.revoked.v1",
        "stint.certificate.reissued.v1",
    }
    assert worker.CONSUMES == ["listing", "certification"]
    bound = bind_handlers(worker.HANDLERS, "a database")
    assert set(bound) == set(worker.HANDLERS)


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        (ApplyRequestSchema, {"listing_id": "L", "cover_note": "hi", "answers": [], "extra": 1}),
        (SubmissionRequestSchema, {"links": ["file:///etc/passwd"], "hours_spent": 1}),
        (SubmissionRequestSchema, {"links": ["https://example.org"], "hours_spent": float("nan")}),
        (ReviewRequestSchema, {"decision": "approve", "rating": True}),
    ],
)
def test_request_schemas_refuse_unknown_fields_unsafe_links_and_odd_numbers(schema, body):
    with pytest.raises(ma.ValidationError):
        schema().load(body)
