"""Submitting and reviewing work: rounds, digests, change rounds, hours bounds, the approved event."""

from __future__ import annotations

from datetime import UTC, datetime

from services.application.app import create_app
from services.application.domain import submission_digest
from services.application.read_model import record_org
from shared.events import encode_event, new_event, parse_event
from tests.integration.application.app_support import ORG, auth_header, outbox_types


def test_the_accepted_student_submits_work_and_it_is_fingerprinted(calls, people, published_listing, db):
    application_id = calls.accepted(published_listing())

    response = calls.submit(people.student, application_id, hours=32.5, links=["https://example.org/report"])

    assert response.status_code == 201
    application = response.get_json()
    assert application["status"] == "submitted"
    [submission] = application["submissions"]
    assert submission["round"] == 1
    assert submission["links"] == ["https://example.org/report"]
    assert submission["hours_spent"] == 32.5
    assert submission["digest"] == submission_digest(["https://example.org/report"], "Done.", 32.5, 1)
    assert submission["submitted_at"]
    event = db.applications.find_one({"_id": application_id})["outbox"][-1]
    assert event["type"] == "stint.work.submitted.v1"
    assert event["data"]["round"] == 1
    assert event["data"]["links"] == ["https://example.org/report"]


def test_work_cannot_be_submitted_before_acceptance(calls, people, published_listing):
    application_id = calls.applied(published_listing())

    response = calls.submit(people.student, application_id)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "illegal_transition"


def test_hours_spent_are_bounded_by_twice_the_listing_effort(calls, people, published_listing):
    application_id = calls.accepted(published_listing(effort_hours=20))

    too_many = calls.submit(people.student, application_id, hours=40.5)
    at_bound = calls.submit(people.student, application_id, hours=40)

    assert too_many.status_code == 422
    assert too_many.get_json()["error"]["code"] == "hours_spent_out_of_range"
    assert at_bound.status_code == 201


def test_changes_requested_then_resubmitted_then_approved(calls, people, published_listing, db):
    application_id = calls.submitted(published_listing())

    changes = calls.review(people.employer, application_id, "request_changes", feedback="Add a legend to each chart.")
    resubmitted = calls.submit(people.student, application_id, hours=36, notes="Legends added.")
    approved = calls.review(
        people.employer,
        application_id,
        "approve",
        feedback="Clear and fast now.",
        rating=5,
        hours_verified=36,
        skills_demonstrated=["sql", "dashboard design"],
    )

    assert changes.status_code == 200
    assert changes.get_json()["status"] == "changes_requested"
    assert changes.get_json()["latest_review"]["feedback"] == "Add a legend to each chart."
    assert resubmitted.status_code == 201
    assert [s["round"] for s in resubmitted.get_json()["submissions"]] == [1, 2]
    assert approved.status_code == 200
    application = approved.get_json()
    assert application["status"] == "approved"
    assert application["change_rounds"] == 1
    assert application["latest_review"] == {
        "round": 2,
        "decision": "approve",
        "feedback": "Clear and fast now.",
        "rating": 5,
        "hours_verified": 36.0,
        "skills_demonstrated": ["sql", "dashboard design"],
        "reviewer": {"id": "emp-carla", "name": "Carla Diaz"},
        "reviewed_at": application["latest_review"]["reviewed_at"],
    }
    assert outbox_types(db, application_id)[-4:] == [
        "stint.work.submitted.v1",
        "stint.work.changes_requested.v1",
        "stint.work.submitted.v1",
        "stint.work.approved.v1",
    ]


def test_the_approved_event_carries_everything_a_credential_needs(calls, people, published_listing, db):
    listing = published_listing(effort_hours=40, duration_days=14)
    record_org(
        db,
        new_event(
            "stint.org.verified.v1",
            "listing",
            ORG,
            {"org_id": ORG, "name": "Acme Analytics", "website": "https://acme.example", "status": "verified"},
        ),
    )
    application_id = calls.submitted(listing)

    calls.review(people.employer, application_id, "approve", feedback="Great", rating=4, hours_verified=38)

    event = db.applications.find_one({"_id": application_id})["outbox"][-1]
    parse_event(encode_event(event))  # passes the catalog
    data = event["data"]
    today = datetime.now(UTC).date().isoformat()
    assert data["listing"] == {
        "listing_id": listing["listing_id"],
        "title": listing["title"],
        "summary": listing["summary"],
        "brief": listing["brief"],
        "deliverables": listing["deliverables"],
        "skills": listing["skills"],
        "category": "data",
        "effort_hours": 40.0,
        "duration_days": 14,
        "org_id": ORG,
        "org_name": "Acme Analytics",
        "org_website": "https://acme.example",
        "stipend": listing["stipend"],  # the stipend travels with the approval
    }
    assert data["student"] == {"id": "stu-asha", "name": "Asha Rao", "email": "asha@uni.example"}
    assert data["approver"] == {"id": "emp-carla", "name": "Carla Diaz", "email": "carla@acme.example"}
    assert (data["hours_verified"], data["rating"], data["feedback"]) == (38.0, 4, "Great")
    assert data["started_on"] == data["completed_on"] == today
    submission = db.applications.find_one({"_id": application_id})["submissions"][-1]
    assert data["submission"] == {"links": submission["links"], "notes": "Done.", "digest": submission["digest"]}
    assert data["round"] == 1


def test_approval_needs_a_rating_and_hours_within_the_listing_effort(calls, people, published_listing):
    application_id = calls.submitted(published_listing(effort_hours=40))

    no_rating = calls.review(people.employer, application_id, "approve", hours_verified=10)
    no_hours = calls.review(people.employer, application_id, "approve", rating=5)
    too_many_hours = calls.review(people.employer, application_id, "approve", rating=5, hours_verified=40.5)
    zero_hours = calls.review(people.employer, application_id, "approve", rating=5, hours_verified=0)

    assert no_rating.get_json()["error"]["code"] == "approval_incomplete"
    assert no_hours.get_json()["error"]["code"] == "approval_incomplete"
    assert too_many_hours.get_json()["error"]["code"] == "hours_verified_out_of_range"
    assert zero_hours.status_code == 422
    assert {r.status_code for r in (no_rating, no_hours, too_many_hours)} == {422}
    assert calls.get(people.student, application_id).get_json()["status"] == "submitted"


def test_rejected_work_ends_the_application(calls, people, published_listing, db):
    application_id = calls.submitted(published_listing())

    response = calls.review(people.employer, application_id, "reject", feedback="Not what the brief asked.")

    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert outbox_types(db, application_id)[-1] == "stint.work.rejected.v1"
    assert calls.submit(people.student, application_id).status_code == 409


def test_work_can_only_be_reviewed_when_submitted(calls, people, published_listing):
    application_id = calls.accepted(published_listing())

    response = calls.review(people.employer, application_id, "approve", rating=5, hours_verified=10)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "illegal_transition"


def test_changes_may_be_requested_at_most_the_configured_number_of_rounds(settings_for, people, published_listing):
    client = create_app(settings_for("application", extra={"STINT_MAX_CHANGE_ROUNDS": "2"})).test_client()
    listing = published_listing()
    body = {"listing_id": listing["listing_id"], "cover_note": "Hi", "answers": ["Metabase"]}
    application_id = client.post("/applications", json=body, headers=auth_header(people.student)).get_json()["id"]
    client.post(f"/applications/{application_id}/accept", headers=auth_header(people.employer))
    work = {"links": ["https://example.org/w"], "hours_spent": 10}
    changes = {"decision": "request_changes", "feedback": "again"}

    outcomes = []
    for _ in range(3):
        client.post(f"/applications/{application_id}/submissions", json=work, headers=auth_header(people.student))
        review = client.post(
            f"/applications/{application_id}/review", json=changes, headers=auth_header(people.employer)
        )
        outcomes.append((review.status_code, review.get_json().get("error", {}).get("code")))

    assert outcomes == [(200, None), (200, None), (409, "change_rounds_exhausted")]


def test_requesting_changes_needs_feedback(calls, people, published_listing):
    application_id = calls.submitted(published_listing())

    response = calls.review(people.employer, application_id, "request_changes")

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "feedback_required"
