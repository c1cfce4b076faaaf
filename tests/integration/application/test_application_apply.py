"""Applying to a listing: the rules of DESIGN §5, each with its clear 409/422, against the real database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

from services.application.app import create_app
from services.application.read_model import record_listing
from tests.integration.application.app_support import ORG, auth_header, listing_event, outbox_types
from tests.support.apps import service_app


def test_a_student_applies_to_a_published_listing_and_the_application_starts_applied(
    calls, people, published_listing, db
):
    listing = published_listing(screening_questions=["Which BI tools have you used?", "When can you start?"])

    response = calls.apply(people.student, listing, answers=["Metabase and Superset", "Monday"])

    assert response.status_code == 201
    application = response.get_json()
    assert application["status"] == "applied"
    assert application["listing_id"] == listing["listing_id"]
    assert application["listing_title"] == listing["title"]
    assert application["org_id"] == ORG
    assert application["student"] == {"id": "stu-asha", "name": "Asha Rao", "email": "asha@uni.example"}
    assert application["answers"] == [
        {"question": "Which BI tools have you used?", "answer": "Metabase and Superset"},
        {"question": "When can you start?", "answer": "Monday"},
    ]
    assert application["history"][0]["status"] == "applied"
    assert application["history"][0]["by"] == {"id": "stu-asha", "role": "student"}
    assert outbox_types(db, application["id"]) == ["stint.application.submitted.v1"]


def test_the_submitted_event_names_the_student_listing_and_employer(calls, people, published_listing, db):
    listing = published_listing()

    application_id = calls.applied(listing)

    event = db.applications.find_one({"_id": application_id})["outbox"][0]
    assert event["subject"] == application_id
    assert event["source"] == "/stint/application"
    assert event["data"] == {
        "application_id": application_id,
        "listing_id": listing["listing_id"],
        "listing_title": listing["title"],
        "org_id": ORG,
        "student": {"id": "stu-asha", "name": "Asha Rao", "email": "asha@uni.example"},
        "status": "applied",
        "previous_status": None,
    }


def test_applying_to_an_unknown_listing_says_so(calls, people, published_listing):
    listing = published_listing()
    listing = {**listing, "listing_id": "no-such-listing"}

    response = calls.apply(people.student, listing)

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "listing_not_found"


def test_applying_to_a_closed_listing_is_refused(calls, people, published_listing):
    listing = published_listing(status="closed", closed_reason="owner")

    response = calls.apply(people.student, listing)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "listing_not_open"


def test_applying_after_the_deadline_is_refused(calls, people, published_listing):
    listing = published_listing(apply_by=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())

    response = calls.apply(people.student, listing)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "application_deadline_passed"


def test_answers_must_match_the_screening_questions_one_for_one(calls, people, published_listing, db):
    listing = published_listing(screening_questions=["Tools?", "Start date?"])

    too_few = calls.apply(people.student, listing, answers=["Metabase"])
    too_many = calls.apply(people.student, listing, answers=["a", "b", "c"])
    blank = calls.apply(people.student, listing, answers=["Metabase", "   "])

    assert too_few.status_code == too_many.status_code == blank.status_code == 422
    assert too_few.get_json()["error"]["code"] == "answers_mismatch"
    assert too_many.get_json()["error"]["code"] == "answers_mismatch"
    assert blank.get_json()["error"]["code"] == "answer_empty"
    assert blank.get_json()["error"]["details"] == {"blank_answers": [1]}
    assert db.applications.count_documents({}) == 0


def test_a_student_applies_only_once_to_a_listing(calls, people, published_listing):
    listing = published_listing()
    calls.applied(listing)

    again = calls.apply(people.student, listing)

    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_applied"


def test_an_application_stored_before_ids_were_named_after_the_pair_still_refuses_a_second(
    calls, people, published_listing, db
):
    listing = published_listing()
    named = calls.applied(listing)
    stored = db.applications.find_one({"_id": named})
    db.applications.delete_one({"_id": named})
    db.applications.insert_one({**stored, "_id": "3f2b9c1e-0d7a-4e65-8b41-9a0c2d5e7f18"})  # a random id, as before

    again = calls.apply(people.student, listing)

    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_applied"
    assert db.applications.count_documents({"listing_id": listing["listing_id"]}) == 1


def test_concurrent_double_submits_give_one_application_and_one_conflict(app, people, published_listing, db):
    listing = published_listing()
    body = {"listing_id": listing["listing_id"], "cover_note": "Hi", "answers": ["Metabase"]}
    start = threading.Barrier(2)
    statuses = []

    def submit():
        client = app.test_client()
        start.wait()
        statuses.append(client.post("/applications", json=body, headers=auth_header(people.student)).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409]
    assert db.applications.count_documents({"listing_id": listing["listing_id"]}) == 1


def test_a_student_holds_at_most_the_configured_number_of_open_applications(settings_for, people, published_listing):
    app = create_app(settings_for("application", extra={"STINT_MAX_OPEN_APPLICATIONS": "2"}))
    client = app.test_client()
    listings = [published_listing() for _ in range(3)]

    def apply(listing):
        body = {"listing_id": listing["listing_id"], "cover_note": "Hi", "answers": ["Metabase"]}
        return client.post("/applications", json=body, headers=auth_header(people.student))

    first, second, third = (apply(listing) for listing in listings)

    assert [first.status_code, second.status_code] == [201, 201]
    assert third.status_code == 409
    assert third.get_json()["error"]["code"] == "too_many_open_applications"
    assert third.get_json()["error"]["details"] == {"limit": 2}
    # a withdrawn application is no longer open, so the student may apply again
    withdrawn = client.post(f"/applications/{first.get_json()['id']}/withdraw", headers=auth_header(people.student))
    assert withdrawn.status_code == 200
    assert apply(listings[2]).status_code == 201


def test_simultaneous_applications_cannot_exceed_the_open_limit(settings_for, people, published_listing, db):
    app = create_app(settings_for("application", extra={"STINT_MAX_OPEN_APPLICATIONS": "3"}))
    listings = [published_listing() for _ in range(12)]
    start = threading.Barrier(len(listings))
    statuses = []

    def apply(listing):
        client = app.test_client()
        body = {"listing_id": listing["listing_id"], "cover_note": "Hi", "answers": ["Metabase"]}
        start.wait()
        statuses.append(client.post("/applications", json=body, headers=auth_header(people.student)).status_code)

    threads = [threading.Thread(target=apply, args=(listing,)) for listing in listings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] * 3 + [409] * 9
    assert db.applications.count_documents({"student_id": "stu-asha"}) == 3


def test_an_application_that_ends_frees_its_place_among_the_open_ones(settings_for, people, published_listing, db):
    app = create_app(settings_for("application", extra={"STINT_MAX_OPEN_APPLICATIONS": "1"}))
    client = app.test_client()
    first, second = published_listing(), published_listing()

    def apply(listing):
        body = {"listing_id": listing["listing_id"], "cover_note": "Hi", "answers": ["Metabase"]}
        return client.post("/applications", json=body, headers=auth_header(people.student))

    application_id = apply(first).get_json()["id"]
    blocked = apply(second)
    client.post(f"/applications/{application_id}/reject", headers=auth_header(people.employer))

    assert blocked.status_code == 409
    assert apply(second).status_code == 201


def test_applications_stored_before_open_places_moved_into_them_still_count_against_the_limit(
    settings_for, namespace, people
):
    settings = settings_for("application", mongo_db=f"{namespace}_legacy", extra={"STINT_MAX_OPEN_APPLICATIONS": "2"})
    legacy = MongoClient(settings.mongo_url, tz_aware=True)[settings.database_name]
    # as the previous version stored them: an open application holding a place, a withdrawn one that gave it back
    legacy.applications.insert_many(
        [
            {"_id": "old-open", "listing_id": "l-1", "student_id": "stu-asha", "status": "applied"},
            {"_id": "old-withdrawn", "listing_id": "l-2", "student_id": "stu-asha", "status": "withdrawn"},
        ]
    )
    legacy.open_applications.insert_one({"_id": "stu-asha#1", "owner": "stu-asha", "application_id": "old-open"})
    with service_app(create_app, settings) as app:
        listings = [listing_event()["data"] for _ in range(2)]
        for listing in listings:
            record_listing(app.extensions["stint_db"], listing_event(**listing))
        client = app.test_client()

        def apply(listing):
            body = {"listing_id": listing["listing_id"], "cover_note": "Hi", "answers": ["Metabase"]}
            return client.post("/applications", json=body, headers=auth_header(people.student))

        statuses = [apply(listing).status_code for listing in listings]

    legacy.client.close()
    assert statuses == [201, 409]
