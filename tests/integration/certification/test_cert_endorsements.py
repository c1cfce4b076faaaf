"""Endorsements on the real servers: an employer recommends approved work as their organisation, signed with the
organisation's own did:web; the rules refuse everything else and change nothing; the independent verifier agrees."""

from __future__ import annotations

import copy

import pytest
import requests

from services.certification import endorsements, revoking, store
from shared.auth import Principal
from tests.support import independent_verifier

ACME = "org-acme"  # the organisation of the sample work (tests/unit/certification/samples.py)
COMMENT = "Asha found the three issues our own team had missed, and explained them clearly."


@pytest.fixture
def employer(as_role):
    return as_role("employer", org=ACME, sub="employer-1")


@pytest.fixture
def endorse(client, employer):
    def run(application_id: str, comment: str = COMMENT, headers=None):
        body = {"application_id": application_id, "comment": comment}
        return client.post("/endorsements", json=body, headers=headers or employer)

    return run


def stored(runtime) -> int:
    return runtime.db[store.ENDORSEMENTS].count_documents({})


def test_an_employer_endorses_approved_work_and_the_credential_lists_it(client, issue, endorse, runtime):
    record = issue()
    answer = endorse(record["application_id"])
    assert answer.status_code == 201, answer.get_json()
    created = answer.get_json()
    assert created["credential_id"] == record["credential_id"]
    assert created["org_name"] == "Acme Analytics"
    assert created["issuer"].endswith(":orgs:org-acme")
    assert created["comment"] == COMMENT
    signed = client.get(created["url"].removeprefix(runtime.public_url)).get_json()
    assert signed["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert signed["credentialSubject"]["id"] == record["credential_id"]
    assert signed["proof"]["verificationMethod"] == f"{created['issuer']}#key-1"
    listed = client.get(f"/credentials/{record['_id']}/endorsements").get_json()["items"]
    assert [(item["id"], item["verification"]["verified"]) for item in listed] == [(created["id"], True)]


def test_the_student_is_told_through_an_endorsement_issued_event(issue, endorse, runtime):
    record = issue()
    endorse(record["application_id"])
    [saved] = runtime.db[store.ENDORSEMENTS].find({"application_id": record["application_id"]})
    [event] = saved["outbox"]
    assert event["type"] == "stint.endorsement.issued.v1"
    assert event["data"]["student"] == record["student"]
    assert event["data"]["org_name"] == "Acme Analytics"


def test_a_second_endorsement_of_the_same_work_is_409_and_the_first_stays(issue, endorse, runtime):
    record = issue()
    assert endorse(record["application_id"]).status_code == 201
    again = endorse(record["application_id"], "Changed my mind: even better than I said.")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_endorsed"
    [kept] = runtime.db[store.ENDORSEMENTS].find({"application_id": record["application_id"]})
    assert kept["comment"] == COMMENT


def test_work_not_yet_approved_cannot_be_endorsed(endorse, runtime):
    answer = endorse("application-still-in-review")
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "not_approved"
    assert stored(runtime) == 0


def test_another_organisations_employer_cannot_endorse_the_work(issue, endorse, as_role, runtime):
    record = issue()
    answer = endorse(record["application_id"], headers=as_role("employer", org="org-rival"))
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "not_your_organisation"
    assert stored(runtime) == 0
    assert runtime.db[store.ORG_SIGNING_KEYS].count_documents({}) == 0  # no key made for anyone either


def test_only_an_employer_endorses(issue, endorse, as_role, runtime):
    record = issue()
    student = as_role("student", sub=record["student"]["id"])
    assert endorse(record["application_id"], headers=student).status_code == 403
    assert stored(runtime) == 0


TOO_LONG = "x" * (endorsements.COMMENT_MAX + 1)


@pytest.mark.parametrize("comment", ["", "   \n ", TOO_LONG], ids=["empty", "blank", "long"])
def test_an_empty_or_too_long_recommendation_is_422(issue, endorse, runtime, comment):
    record = issue()
    answer = endorse(record["application_id"], comment)
    assert answer.status_code == 422
    assert "comment" in str(answer.get_json()["error"])
    assert stored(runtime) == 0


def test_a_revoked_credential_is_not_endorsed(issue, endorse, runtime):
    record = issue()
    revoking.revoke_credential(runtime, record["_id"], "issued in error", "admin-1")
    assert endorse(record["application_id"]).status_code == 409
    assert stored(runtime) == 0


def test_the_employer_sees_their_own_endorsement_of_an_application_only(client, issue, endorse, employer, as_role):
    record = issue()
    endorse(record["application_id"])
    query = f"/endorsements?application_id={record['application_id']}"
    assert len(client.get(query, headers=employer).get_json()["items"]) == 1
    assert client.get(query, headers=as_role("employer", org="org-rival")).get_json()["items"] == []


def test_unknown_endorsements_and_credentials_are_404(client):
    assert client.get("/endorsements/not-a-uuid").status_code == 404
    assert client.get("/endorsements/6ba7b810-9dad-41d1-80b4-00c04fd430c8").status_code == 404
    assert client.get("/credentials/6ba7b810-9dad-41d1-80b4-00c04fd430c8/endorsements").status_code == 404
    assert client.get("/orgs/org-nobody/did.json").get_json()["error"]["code"] == "org_did_not_found"


def test_the_verification_page_shows_the_endorsement_and_that_it_verifies(client, issue, endorse):
    record = issue()
    endorse(record["application_id"], "Careful & <b>clear</b> work.")
    page = client.get(f"/verify/{record['_id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Endorsed by the employer" in page
    assert "✓ Verified: a recommendation signed by Acme Analytics" in page
    assert "Careful &amp; &lt;b&gt;clear&lt;/b&gt; work." in page
    summary = client.get(f"/verify/{record['_id']}", headers={"Accept": "application/json"}).get_json()
    assert [(e["org_name"], e["verified"]) for e in summary["endorsements"]] == [("Acme Analytics", True)]


def test_the_org_did_document_rotates_with_the_platform_key_and_keeps_the_old_key(client, issue, endorse, as_role):
    first = issue()
    endorse(first["application_id"])
    rotated = client.post("/keys/rotate", headers=as_role("admin"))
    assert rotated.status_code == 201
    second = issue()
    created = endorse(second["application_id"]).get_json()
    did = client.get("/orgs/org-acme/did.json").get_json()
    assert did["id"] == created["issuer"]
    assert [m["id"].rsplit("#", 1)[1] for m in did["verificationMethod"]] == ["key-1", "key-2"]
    assert did["assertionMethod"] == [m["id"] for m in did["verificationMethod"]]
    listed = client.get(f"/credentials/{first['_id']}/endorsements").get_json()["items"]
    assert listed[0]["verification"]["verified"] is True  # signed with the retired key-1


def test_the_independent_verifier_accepts_an_endorsement_and_rejects_a_tampered_one(live, node):
    credential = live.issue()
    application_id = live.runtime.db[store.CREDENTIALS].find_one({"credential_id": credential["id"]})["application_id"]
    employer = Principal(sub="employer-1", role="employer", org=ACME)
    created = endorsements.endorse(live.runtime, employer, application_id, COMMENT)
    signed = requests.get(created["url"], timeout=10).json()
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["endorsementComment"] = "The best intern we ever had."
    accepted, rejected = independent_verifier.verify(node, [signed, tampered], live.url)
    assert accepted["verified"] is True, accepted
    assert accepted["checks"]["valid_signature"] is True
    assert set(accepted["fetched"]) == {f"{live.url}/orgs/org-acme/did.json"}
    assert rejected["verified"] is False
    assert any("signature" in error.lower() for error in rejected["errors"]), rejected


def test_anyone_reads_the_endorsements_of_several_credentials_at_once(client, issue, endorse):
    endorsed, plain = issue(), issue()
    endorse(endorsed["application_id"])
    query = f"/endorsements?credential_id={endorsed['_id']}&credential_id={plain['credential_id']}&credential_id=junk"
    items = client.get(query).get_json()["items"]
    assert [(item["credential_id"], item["org_name"]) for item in items] == [
        (endorsed["credential_id"], "Acme Analytics")
    ]


def test_listing_endorsements_needs_exactly_one_filter_and_an_employer_for_an_application(client, as_role):
    assert client.get("/endorsements").status_code == 422
    assert client.get("/endorsements?application_id=a&credential_id=b").status_code == 422
    assert client.get("/endorsements?application_id=a").status_code == 401
    assert client.get("/endorsements?application_id=a", headers=as_role("student")).status_code == 403
