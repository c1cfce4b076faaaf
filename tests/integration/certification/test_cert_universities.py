"""Universities register (pending), an admin verifies them, and students find the verified ones."""

from __future__ import annotations

import pytest

from services.certification import store
from tests.support.pipeline import create_topics, publish_pending

PROFILE = {"name": "University of Delhi", "aishe_code": "U-0042", "website": "https://du.ac.in"}


def test_a_university_registers_pending_and_an_admin_verifies_it(client, as_role, runtime):
    registrar = as_role("university", org="uni-delhi")
    registered = client.put("/universities/me", json=PROFILE, headers=registrar)
    assert registered.status_code == 200, registered.get_json()
    assert registered.get_json() | {"created_at": None, "updated_at": None} == {
        **PROFILE,
        "id": "uni-delhi",
        "status": "pending",
        "verified_at": None,
        "created_at": None,
        "updated_at": None,
    }
    assert client.get("/universities/uni-delhi").status_code == 404  # not public while pending
    assert client.get("/universities/uni-delhi", headers=registrar).get_json()["status"] == "pending"
    queue = client.get("/universities?status=pending", headers=as_role("admin")).get_json()
    assert [item["id"] for item in queue["items"]] == ["uni-delhi"]

    verified = client.post("/universities/uni-delhi/verify", headers=as_role("admin"))
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"
    again = client.post("/universities/uni-delhi/verify", headers=as_role("admin"))
    assert again.status_code == 200 and again.get_json()["verified_at"] == verified.get_json()["verified_at"]
    public = client.get("/universities/uni-delhi").get_json()
    assert public["name"] == "University of Delhi" and "contact_email" not in public
    listed = client.get("/universities").get_json()  # anyone, no token: a student picks from these
    assert [item["id"] for item in listed["items"]] == ["uni-delhi"]
    assert client.get("/universities?status=pending", headers=as_role("admin")).get_json()["items"] == []


def test_registering_and_verifying_announce_the_university_once_each(client, as_role, runtime, cert_settings):
    create_topics(cert_settings)
    registrar = as_role("university", org="uni-delhi", email="registrar@du.ac.in")
    client.put("/universities/me", json=PROFILE, headers=registrar)
    client.put("/universities/me", json={**PROFILE, "name": "Delhi University"}, headers=registrar)
    client.post("/universities/uni-delhi/verify", headers=as_role("admin"))
    client.post("/universities/uni-delhi/verify", headers=as_role("admin"))
    stored = runtime.db[store.UNIVERSITIES].find_one({"_id": "uni-delhi"})
    events = [(event["type"], event["data"]["status"]) for event in stored["outbox"]]
    assert events == [("stint.university.registered.v1", "pending"), ("stint.university.verified.v1", "verified")]
    assert stored["outbox"][1]["data"]["contact_email"] == "registrar@du.ac.in"
    assert stored["outbox"][1]["data"]["name"] == "Delhi University"
    assert publish_pending(cert_settings, store.outbox_collections(runtime.db)) == 2


def test_an_aishe_code_belongs_to_one_university_and_stays_once_verified(client, as_role):
    client.put("/universities/me", json=PROFILE, headers=as_role("university", org="uni-delhi"))
    impostor = client.put("/universities/me", json=PROFILE, headers=as_role("university", org="uni-fake"))
    assert impostor.status_code == 409 and impostor.get_json()["error"]["code"] == "aishe_code_taken"
    client.post("/universities/uni-delhi/verify", headers=as_role("admin"))
    changed = client.put(
        "/universities/me", json={**PROFILE, "aishe_code": "U-0043"}, headers=as_role("university", org="uni-delhi")
    )
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "aishe_code_locked"
    renamed = client.put(
        "/universities/me", json={**PROFILE, "name": "DU"}, headers=as_role("university", org="uni-delhi")
    )
    assert renamed.status_code == 200 and renamed.get_json()["status"] == "verified"


def test_only_admins_see_the_pending_queue_or_verify(client, as_role):
    client.put("/universities/me", json=PROFILE, headers=as_role("university", org="uni-delhi"))
    for headers in ({}, as_role("student"), as_role("university", org="uni-delhi")):
        refused = client.get("/universities?status=pending", headers=headers)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admin_only"
    assert (
        client.post("/universities/uni-delhi/verify", headers=as_role("university", org="uni-delhi")).status_code == 403
    )
    assert client.post("/universities/nowhere/verify", headers=as_role("admin")).status_code == 404
    assert client.put("/universities/me", json=PROFILE, headers=as_role("student")).status_code == 403
    no_org = client.put("/universities/me", json=PROFILE, headers=as_role("university", org=""))
    assert no_org.status_code == 403 and no_org.get_json()["error"]["code"] == "org_missing"


@pytest.mark.parametrize(
    "profile",
    [
        {**PROFILE, "aishe_code": "0042"},
        {**PROFILE, "aishe_code": "X-0042"},
        {**PROFILE, "aishe_code": "u-0042"},
        {**PROFILE, "aishe_code": "U-0042 "},
        {**PROFILE, "website": "ftp://du.ac.in"},
        {**PROFILE, "name": "D"},
        {**PROFILE, "verified": True},
        {"name": "University of Delhi", "aishe_code": "U-0042"},
    ],
)
def test_a_bad_profile_is_refused_in_the_error_shape(client, as_role, profile):
    response = client.put("/universities/me", json=profile, headers=as_role("university", org="uni-delhi"))
    assert response.status_code == 422 and set(response.get_json()["error"]) >= {"code", "message", "details"}


def test_college_and_standalone_aishe_codes_are_accepted(client, as_role):
    for number, code in enumerate(("C-12345", "S-1234")):
        profile = {**PROFILE, "aishe_code": code}
        response = client.put("/universities/me", json=profile, headers=as_role("university", org=f"inst-{number}"))
        assert response.status_code == 200, response.get_json()


def test_a_profile_update_cannot_take_another_universitys_aishe_code(client, as_role):
    client.put("/universities/me", json=PROFILE, headers=as_role("university", org="uni-delhi"))
    other = {**PROFILE, "name": "Other University", "aishe_code": "U-0099"}
    assert client.put("/universities/me", json=other, headers=as_role("university", org="uni-other")).status_code == 200
    taken = client.put(
        "/universities/me", json={**other, "aishe_code": "U-0042"}, headers=as_role("university", org="uni-other")
    )
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "aishe_code_taken"
    mine = client.get("/universities/uni-other", headers=as_role("admin")).get_json()
    assert mine["aishe_code"] == "U-0099"
