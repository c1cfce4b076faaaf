"""Bad input on every endpoint → a 4xx in the one error shape, and nothing changed; paging with a cursor."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.integration.application.app_support import auth_header

LONG = "x" * 5001
APPLY_BODIES = {
    "missing everything": {},
    "missing cover note": {"listing_id": "L", "answers": ["a"]},
    "listing id not a string": {"listing_id": 5, "cover_note": "hi", "answers": ["a"]},
    "answers not a list": {"listing_id": "L", "cover_note": "hi", "answers": "a"},
    "answer not a string": {"listing_id": "L", "cover_note": "hi", "answers": [7]},
    "empty cover note": {"listing_id": "L", "cover_note": "", "answers": ["a"]},
    "oversized cover note": {"listing_id": "L", "cover_note": LONG, "answers": ["a"]},
    "oversized answer": {"listing_id": "L", "cover_note": "hi", "answers": ["a" * 3001]},
    "too many answers": {"listing_id": "L", "cover_note": "hi", "answers": ["a"] * 21},
    "oversized listing id": {"listing_id": "L" * 101, "cover_note": "hi", "answers": ["a"]},
    "unknown field": {"listing_id": "L", "cover_note": "hi", "answers": ["a"], "status": "accepted"},
}
SUBMISSION_BODIES = {
    "missing links": {"notes": "n", "hours_spent": 3},
    "no links": {"links": [], "hours_spent": 3},
    "eleven links": {"links": [f"https://example.org/{n}" for n in range(11)], "hours_spent": 3},
    "ftp link": {"links": ["ftp://example.org/work.zip"], "hours_spent": 3},
    "javascript link": {"links": ["javascript:alert(1)"], "hours_spent": 3},
    "not a link": {"links": ["my work"], "hours_spent": 3},
    "oversized link": {"links": ["https://example.org/" + "a" * 2000], "hours_spent": 3},
    "oversized notes": {"links": ["https://example.org/w"], "notes": LONG, "hours_spent": 3},
    "missing hours": {"links": ["https://example.org/w"]},
    "negative hours": {"links": ["https://example.org/w"], "hours_spent": -1},
    "absurd hours": {"links": ["https://example.org/w"], "hours_spent": 1001},
    "hours not a number": {"links": ["https://example.org/w"], "hours_spent": "many"},
    "unknown field": {"links": ["https://example.org/w"], "hours_spent": 3, "digest": "0" * 64},
}
REVIEW_BODIES = {
    "missing decision": {"rating": 5, "hours_verified": 3},
    "unknown decision": {"decision": "maybe"},
    "rating too low": {"decision": "approve", "rating": 0, "hours_verified": 3},
    "rating too high": {"decision": "approve", "rating": 6, "hours_verified": 3},
    "rating as text": {"decision": "approve", "rating": "5", "hours_verified": 3},
    "rating not whole": {"decision": "approve", "rating": 3.5, "hours_verified": 3},
    "negative hours": {"decision": "approve", "rating": 5, "hours_verified": -2},
    "oversized feedback": {"decision": "reject", "feedback": LONG},
    "too many skills": {"decision": "approve", "rating": 5, "hours_verified": 3, "skills_demonstrated": ["s"] * 31},
    "oversized skill": {"decision": "approve", "rating": 5, "hours_verified": 3, "skills_demonstrated": ["s" * 101]},
    "unknown field": {"decision": "approve", "rating": 5, "hours_verified": 3, "approver": "me"},
}
ACTION_BODIES = {
    "unknown field": {"status": "accepted"},
    "oversized note": {"note": "n" * 1001},
    "note not a string": {"note": 12},
}


@pytest.mark.parametrize("body", APPLY_BODIES.values(), ids=APPLY_BODIES.keys())
def test_a_malformed_application_is_refused_and_nothing_is_stored(client, people, published_listing, db, body):
    published_listing(listing_id="L")

    response = client.post("/applications", json=body, headers=auth_header(people.student))

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert db.applications.count_documents({}) == 0


@pytest.mark.parametrize("body", SUBMISSION_BODIES.values(), ids=SUBMISSION_BODIES.keys())
def test_a_malformed_submission_is_refused_and_nothing_changes(calls, people, published_listing, db, body):
    application_id = calls.accepted(published_listing())
    before = db.applications.find_one({"_id": application_id})

    response = calls.act(people.student, application_id, "submissions", body)

    assert response.status_code == 422
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert db.applications.find_one({"_id": application_id}) == before


@pytest.mark.parametrize("body", REVIEW_BODIES.values(), ids=REVIEW_BODIES.keys())
def test_a_malformed_review_is_refused_and_nothing_changes(calls, people, published_listing, db, body):
    application_id = calls.submitted(published_listing())
    before = db.applications.find_one({"_id": application_id})

    response = calls.act(people.employer, application_id, "review", body)

    assert response.status_code == 422
    assert db.applications.find_one({"_id": application_id}) == before


@pytest.mark.parametrize("action", ["shortlist", "accept", "reject", "withdraw"])
@pytest.mark.parametrize("body", ACTION_BODIES.values(), ids=ACTION_BODIES.keys())
def test_a_malformed_action_body_is_refused_and_nothing_changes(calls, people, published_listing, db, action, body):
    application_id = calls.applied(published_listing())
    before = db.applications.find_one({"_id": application_id})
    bearer = people.student if action == "withdraw" else people.employer

    response = calls.act(bearer, application_id, action, body)

    assert response.status_code == 422
    assert db.applications.find_one({"_id": application_id}) == before


@pytest.mark.parametrize(
    "path",
    [
        "/applications/not-a-uuid",
        "/applications/123/accept",
        "/applications/%00/review",
        f"/applications/{uuid.uuid4()}",
    ],
)
def test_a_bad_or_unknown_application_id_is_a_404(client, people, path):
    method = "GET" if path.count("/") == 2 else "POST"

    response = client.open(path, method=method, json={}, headers=auth_header(people.employer))

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] in {"not_found", "application_not_found"}


def test_a_body_that_is_not_json_is_refused(client, people, published_listing, db):
    published_listing(listing_id="L")
    headers = {**auth_header(people.student), "Content-Type": "application/json"}

    response = client.post("/applications", data="{not json", headers=headers)

    assert 400 <= response.status_code < 500
    assert "error" in response.get_json()
    assert db.applications.count_documents({}) == 0


@pytest.mark.parametrize(
    "query",
    [
        "?status=pending",
        "?limit=0",
        "?limit=101",
        "?limit=ten",
        "?sort=created_at",
        "?listing_id=" + "L" * 101,
    ],
)
def test_a_bad_list_query_is_a_422(client, people, query):
    response = client.get(f"/applications{query}", headers=auth_header(people.student))

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        base64.urlsafe_b64encode(b'["2026-01-01", 5]').decode(),
        base64.urlsafe_b64encode(b'{"$where": "1"}').decode(),
        base64.urlsafe_b64encode(b'[{"$gt": 1}, "x"]').decode(),
    ],
)
def test_a_cursor_we_did_not_make_is_a_400(client, people, cursor):
    response = client.get(f"/applications?cursor={cursor}", headers=auth_header(people.student))

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"


def test_applications_page_newest_first_with_filters(calls, people, published_listing, token):
    listing = published_listing()
    applied = [calls.applied(listing, token("student", sub=f"stu-{n}")) for n in range(5)]
    calls.act(people.employer, applied[0], "shortlist")

    pages, cursor = [], None
    while True:
        query = f"?listing_id={listing['listing_id']}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = calls.client.get(f"/applications{query}", headers=auth_header(people.employer)).get_json()
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
    shortlisted = calls.client.get("/applications?status=shortlisted", headers=auth_header(people.employer))

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [i for page in pages for i in page] == list(reversed(applied))
    assert [item["id"] for item in shortlisted.get_json()["items"]] == [applied[0]]
