"""Every endpoint × every kind of caller → the expected status; refusals in the one error shape, changing nothing."""

from __future__ import annotations

import pytest

from tests.integration.application.app_support import auth_header

ROLES = ("nobody", "student", "other_student", "employer", "other_employer", "university", "admin")

# endpoint: (the application's state before the call, the call, expected status per role in ROLES order)
TABLE = {
    "apply": (None, ("POST", ""), (401, 201, 201, 403, 403, 403, 403)),
    "list": ("applied", ("GET", ""), (401, 200, 200, 200, 200, 403, 403)),
    "get": ("applied", ("GET", "/{id}"), (401, 200, 404, 200, 404, 403, 403)),
    "shortlist": ("applied", ("POST", "/{id}/shortlist"), (401, 403, 403, 200, 404, 403, 403)),
    "accept": ("applied", ("POST", "/{id}/accept"), (401, 403, 403, 200, 404, 403, 403)),
    "reject": ("applied", ("POST", "/{id}/reject"), (401, 403, 403, 200, 404, 403, 403)),
    "withdraw": ("applied", ("POST", "/{id}/withdraw"), (401, 200, 404, 403, 403, 403, 403)),
    "submissions": ("accepted", ("POST", "/{id}/submissions"), (401, 201, 404, 403, 403, 403, 403)),
    "review": ("submitted", ("POST", "/{id}/review"), (401, 403, 403, 200, 404, 403, 403)),
}
BODIES = {
    "submissions": {"links": ["https://example.org/work"], "notes": "done", "hours_spent": 12},
    "review": {"decision": "approve", "feedback": "good", "rating": 4, "hours_verified": 12},
}
CASES = [(endpoint, role, statuses[i]) for endpoint, (_, _, statuses) in TABLE.items() for i, role in enumerate(ROLES)]


def _prepared(calls, listing, state):
    """An application of the main student in `state` (or None)."""
    if state is None:
        return None
    return {"applied": calls.applied, "accepted": calls.accepted, "submitted": calls.submitted}[state](listing)


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES, ids=[f"{e}-{r}" for e, r, _ in CASES])
def test_each_endpoint_answers_each_caller_as_the_rules_say(
    client, calls, people, published_listing, db, endpoint, role, expected
):
    listing = published_listing()
    state, (method, path), _ = TABLE[endpoint]
    application_id = _prepared(calls, listing, state)
    before = db.applications.find_one({"_id": application_id}) if application_id else None
    headers = auth_header(getattr(people, role)) if role != "nobody" else {}
    body = BODIES.get(endpoint)
    if endpoint == "apply":
        body = {"listing_id": listing["listing_id"], "cover_note": "Hello", "answers": ["Metabase"]}

    response = client.open(f"/applications{path.format(id=application_id)}", method=method, json=body, headers=headers)

    assert response.status_code == expected, response.get_json()
    if expected >= 400:
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert error["code"] and error["message"]
        if application_id:
            assert db.applications.find_one({"_id": application_id}) == before
        else:
            assert db.applications.count_documents({}) == 0


def test_lists_show_each_caller_only_what_is_theirs(calls, people, published_listing, token):
    listing = published_listing()
    mine = calls.applied(listing)
    theirs = calls.applied(listing, people.other_student)
    elsewhere = calls.applied(published_listing(org_id="org-globex", org_name="Globex"))

    def ids(bearer, query=""):
        response = calls.client.get(f"/applications{query}", headers=auth_header(bearer))
        return {item["id"] for item in response.get_json()["items"]}

    assert ids(people.student) == {mine, elsewhere}
    assert ids(people.other_student) == {theirs}
    assert ids(people.employer) == {mine, theirs}
    assert ids(people.other_employer) == {elsewhere}
    assert ids(token("student", sub="stu-new")) == set()


def test_an_expired_or_forged_token_is_a_401(client, token):
    forged = token("student", sub="stu-asha")[:-4] + "AAAA"

    response = client.get("/applications", headers=auth_header(forged))

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"
