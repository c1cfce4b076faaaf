"""POST /credentials/verify in the W3C VC API's shape, and credentials issued with the old stint-v1 context."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from services.certification import dataintegrity as di
from services.certification import store
from services.certification.credential import StatusEntry, utc_timestamp
from tests.support.legacy_credential import stint_v1_credential
from tests.unit.certification.samples import work_approved_data

EVERY_CHECK = ["well_formed", "issuer_key", "signature", "status", "validity_window"]


def test_the_vc_api_verify_answers_the_checks_that_passed(client, issue):
    document = client.get(f"/credentials/{issue()['_id']}").get_json()
    response = client.post("/credentials/verify", json={"verifiableCredential": document, "options": {}})
    assert response.status_code == 200
    assert response.get_json() == {"checks": EVERY_CHECK, "warnings": [], "errors": []}


def test_the_vc_api_verify_reports_each_failed_check_as_an_error(client, issue, as_role):
    record = issue()
    forged = client.get(f"/credentials/{record['_id']}").get_json()
    client.post(f"/credentials/{record['_id']}/revoke", json={"reason": "plagiarised"}, headers=as_role("admin"))
    forged["credentialSubject"]["creditsEarned"] = 9
    body = client.post("/credentials/verify", json={"verifiableCredential": forged}).get_json()
    assert body["checks"] == ["well_formed", "issuer_key", "validity_window"]
    assert [(error["type"], error["detail"]) for error in body["errors"]] == [
        ("signature", "the signature does not match the credential"),
        ("status", "the credential has been revoked"),
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"verifiableCredential": "a string"}, 422),
        ({"verifiableCredential": {}, "extra": 1}, 422),
        ({"credential": {}}, 422),
        ([], 422),
    ],
    ids=["empty", "not an object", "unknown field", "wrong name", "a list"],
)
def test_bad_vc_api_input_is_a_4xx_in_the_one_error_shape(client, body, status):
    response = client.post("/credentials/verify", json=body)
    assert response.status_code == status
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_the_vc_api_verify_is_documented_with_its_schemas(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/credentials/verify"]["post"]
    assert operation["security"] == []
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert request.endswith("/VcApiVerifyRequest") and answer.endswith("/VcApiVerification")
    assert "422" in operation["responses"]


def _signed_the_old_way(runtime, record: dict) -> dict:
    """A stint-v1 credential for `record`'s place in the status list, signed with the current key."""
    issued_at = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)
    unsigned = stint_v1_credential(
        work_approved_data(),
        credential_id=record["credential_id"],
        issuer_did=runtime.did,
        public_url=runtime.public_url,
        issued_at=issued_at,
        status=StatusEntry(runtime.status_list_url(record["status_list_id"]), record["status_index"]),
    )
    signing = runtime.keyring.current()
    options = di.proof_options(f"{runtime.did}#{signing.key_id}", utc_timestamp(issued_at))
    return di.add_proof(unsigned, options, signing.private_key)


def test_a_credential_issued_with_the_stint_v1_context_keeps_verifying(client, issue, runtime):
    legacy = _signed_the_old_way(runtime, issue())
    assert legacy["@context"][-1] == "https://stint.example/contexts/stint-v1.json"
    answer = client.post("/verify", json=legacy).get_json()
    assert answer["verified"] is True, answer
    vc_api = client.post("/credentials/verify", json={"verifiableCredential": legacy}).get_json()
    assert vc_api["errors"] == []


def test_a_stint_v1_credential_still_fails_when_an_extension_term_is_changed(client, issue, runtime):
    legacy = _signed_the_old_way(runtime, issue())
    for forge in (
        lambda c: c["credentialSubject"].update(engagementHours=450),
        lambda c: c["credentialSubject"]["source"]["approver"].update(name="The CEO"),
        lambda c: c["evidence"][0].update(submissionDigest="sha256:" + "b" * 64),
    ):
        forged = copy.deepcopy(legacy)
        forge(forged)
        answer = client.post("/verify", json=forged).get_json()
        assert answer["verified"] is False
        assert {c["name"]: c["passed"] for c in answer["checks"]}["signature"] is False


def test_the_page_of_a_stint_v1_credential_shows_the_student(client, issue, runtime):
    record = issue()
    legacy = _signed_the_old_way(runtime, record)
    store.forget_signed_document(runtime.db, record["_id"])  # as if it had been issued before the change
    store.save_signed_document(runtime.db, record["_id"], di.SignedCopy(legacy, None))
    body = client.get(f"/verify/{record['_id']}", headers={"Accept": "application/json"}).get_json()
    assert body["verified"] is True and body["student_name"] == "Asha Rao"


def test_the_skill_page_is_documented_with_its_schema(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/skills/{slug}"]["get"]
    assert operation["security"] == []
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"text/html", "application/json"}
    assert content["application/json"]["schema"]["$ref"].endswith("/Skill")
    assert "Skill" in spec["components"]["schemas"]
