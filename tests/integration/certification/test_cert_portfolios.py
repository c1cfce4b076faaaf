"""A student's portfolio on the real database: hidden until they opt in, never their email, refusals change nothing,
and a credential revoked later leaves the public page."""

from __future__ import annotations

import pytest

from services.certification import store

STUDENT = "student-1"  # the student of the sample credentials (Asha Rao, asha@example.org)


@pytest.fixture
def asha(as_role):
    """Asha's headers, as a student signed in."""
    return as_role("student", sub=STUDENT, name="Asha Rao", email="asha@example.org")


def portfolio(**overrides) -> dict:
    """A portfolio body as the student sends it."""
    return {
        "handle": "Asha-Rao",
        "headline": "Data analyst in the making",
        "published": True,
        "credential_ids": [],
        "work_samples": [{"title": "Survey notebook", "url": "https://github.com/asha/survey", "description": "EDA"}],
        **overrides,
    }


def public_json(client, handle: str):
    return client.get(f"/portfolios/{handle}", headers={"Accept": "application/json"})


def test_nothing_is_public_until_the_student_opts_in_and_then_never_their_email(client, issue, asha, runtime):
    record = issue()
    saved = client.put(
        "/portfolios/me", json=portfolio(published=False, credential_ids=[record["credential_id"]]), headers=asha
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["url"].endswith("/portfolios/Asha-Rao") and saved.get_json()["published"] is False

    hidden, unknown = public_json(client, "asha-rao"), public_json(client, "nobody-here")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_json() == unknown.get_json()  # not published reads exactly as no such handle
    assert client.get("/portfolios/asha-rao").data == client.get("/portfolios/nobody-here").data

    client.put("/portfolios/me", json=portfolio(credential_ids=[record["credential_id"]]), headers=asha)
    shown = public_json(client, "ASHA-RAO")  # a handle is the same whatever its letter case
    assert shown.status_code == 200
    body = shown.get_json()
    assert (body["name"], body["headline"], body["handle"]) == ("Asha Rao", "Data analyst in the making", "Asha-Rao")
    [credential] = body["credentials"]
    assert credential["id"] == record["credential_id"] and credential["title"] == "Customer survey analysis"
    assert credential["verification_url"] == record["verification_url"]
    assert credential["linkedin_url"].startswith("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME")
    assert body["work_samples"][0]["url"] == "https://github.com/asha/survey"

    page = client.get("/portfolios/asha-rao", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<meta property="og:title" content="Asha Rao — portfolio on Stint">' in page
    assert '<meta property="og:description" content="Data analyst in the making">' in page
    assert '<meta name="twitter:card" content="summary">' in page and "Add to LinkedIn profile" in page
    email_hash = next(
        i["identityHash"]
        for i in store.signed_document(runtime.db, record["_id"])["credentialSubject"]["identifier"]
        if i["identityType"] == "emailAddress"
    )
    for answer in (shown.get_data(as_text=True), page):
        assert "asha@example.org" not in answer and email_hash.split("$")[-1] not in answer


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"handle": "BORROWED"}, 409, "handle_taken"),
        ({"handle": "asha rao!"}, 422, "handle_invalid"),
        ({"handle": "ab"}, 422, "handle_invalid"),
        ({"handle": "admin"}, 422, "handle_invalid"),
        ({"credential_ids": ["OTHERS"]}, 422, "credential_not_yours"),
        ({"credential_ids": ["REVOKED"]}, 422, "credential_revoked"),
        ({"credential_ids": ["urn:uuid:00000000-0000-4000-8000-000000000000"]}, 422, "credential_not_yours"),
        ({"work_samples": [{"title": "x", "url": "javascript:alert(1)"}]}, 422, "validation_failed"),
        ({"email": "asha@example.org"}, 422, "validation_failed"),
        ({"published": 1}, 422, "validation_failed"),  # an opt-in is JSON true, nothing that merely looks like it
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(client, issue, as_role, asha, change, status, code):
    mine, others = issue(), issue(student={"id": "student-2", "name": "Ravi", "email": "ravi@example.org"})
    revoked = issue()
    client.post(f"/credentials/{revoked['_id']}/revoke", json={"reason": "made in error"}, headers=as_role("admin"))
    client.put("/portfolios/me", json=portfolio(handle="borrowed"), headers=as_role("student", sub="student-2"))
    before = client.put("/portfolios/me", json=portfolio(credential_ids=[mine["credential_id"]]), headers=asha)
    assert before.status_code == 200
    ids = {"OTHERS": others["credential_id"], "REVOKED": revoked["credential_id"]}
    if "credential_ids" in change:
        change = {"credential_ids": [ids.get(cid, cid) for cid in change["credential_ids"]]}

    refused = client.put("/portfolios/me", json=portfolio(**change), headers=asha)

    assert refused.status_code == status and refused.get_json()["error"]["code"] == code, refused.get_json()
    assert client.get("/portfolios/me", headers=asha).get_json() == before.get_json()
    assert public_json(client, "borrowed").get_json()["handle"] == "borrowed"


def test_a_credential_revoked_later_leaves_the_public_page(client, issue, as_role, asha):
    kept, later_revoked = issue(), issue()
    chosen = [kept["credential_id"], later_revoked["credential_id"]]
    client.put("/portfolios/me", json=portfolio(credential_ids=chosen), headers=asha)
    assert len(public_json(client, "asha-rao").get_json()["credentials"]) == 2

    client.post(f"/credentials/{later_revoked['_id']}/revoke", json={"reason": "fraud"}, headers=as_role("admin"))

    assert [c["id"] for c in public_json(client, "asha-rao").get_json()["credentials"]] == [kept["credential_id"]]


def test_a_new_handle_frees_the_old_one_for_anyone(client, asha, as_role):
    client.put("/portfolios/me", json=portfolio(handle="asha-old"), headers=asha)
    client.put("/portfolios/me", json=portfolio(handle="asha-new"), headers=asha)

    assert public_json(client, "asha-old").status_code == 404
    assert public_json(client, "asha-new").get_json()["handle"] == "asha-new"
    taken = client.put("/portfolios/me", json=portfolio(handle="Asha-Old"), headers=as_role("student", sub="s-9"))
    assert taken.status_code == 200 and public_json(client, "asha-old").status_code == 200


def test_a_student_without_a_portfolio_is_told_to_start_one_and_others_cannot_edit(client, as_role):
    missing = client.get("/portfolios/me", headers=as_role("student"))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "portfolio_not_found"
    assert client.put("/portfolios/me", json=portfolio(), headers=as_role("employer")).status_code == 403
    assert client.put("/portfolios/me", json=portfolio()).status_code == 401


def test_the_portfolio_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"get", "put"} <= set(paths["/portfolios/me"]) and paths["/portfolios/{handle}"]["get"]["security"] == []
