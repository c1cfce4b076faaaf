"""Conformance: credentials the running service issues are verified by a verifier no one here wrote.

The service runs on a real port (werkzeug, threaded) over the real database; the independent verifier
(tests/verifier: the Digital Credentials Consortium's @digitalcredentials/vc with eddsa-rdfc-2022 under
node) bundles only the VC 2.0 and OB 3.0.3 contexts and fetches nothing but the issuer's DID document and
its status lists from that port.
"""

from __future__ import annotations

import copy
import json

import pytest
import requests

from services.certification import issuer, key_revocation, revoking, store
from shared.events import read_event
from tests.integration.certification.conftest import LiveService
from tests.support import independent_verifier
from tests.support.ob3_schema import schema_errors


def _allowed_fetches(live: LiveService, credential: dict) -> set[str]:
    return {f"{live.url}/.well-known/did.json", credential["credentialStatus"]["statusListCredential"]}


def test_an_issued_credential_is_verified_by_the_independent_verifier(live, node):
    credential = live.issue()
    verdict = independent_verifier.verify(node, credential, live.url)
    assert verdict["verified"] is True, verdict
    assert verdict["checks"] == {
        "valid_signature": True,
        "issuer_did_resolves": True,
        "revocation_status": True,
        "expiration": True,
    }
    assert set(verdict["fetched"]) == _allowed_fetches(live, credential)


def test_an_issued_credential_conforms_to_the_ob3_schema_with_nothing_extra(live):
    credential = live.issue()
    assert schema_errors(credential) == []
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]


def _urls(node) -> set[str]:
    if isinstance(node, dict):
        return {url for value in node.values() for url in _urls(value)}
    if isinstance(node, list):
        return {url for value in node for url in _urls(value)}
    return {node} if isinstance(node, str) and node.startswith(("http://", "https://")) else set()


def test_every_url_stint_puts_in_a_credential_answers_200(live):
    credential = live.issue(skills_demonstrated=["Python", "Stakeholder interviews"])
    submitted = {e["id"] for e in credential["evidence"][1:]}  # the student's own links, not Stint's
    org_site = {credential["credentialSubject"]["source"]["url"]}  # the employer's website, as registered
    # The contexts are real public URIs, bundled by every verifier rather than fetched.
    ours = _urls({key: value for key, value in credential.items() if key != "@context"}) - submitted - org_site
    assert f"{live.url}/skills/stakeholder-interviews" in ours
    assert [url for url in ours if not url.startswith(live.url)] == []
    for url in sorted(ours):
        assert requests.get(url, timeout=10).status_code == 200, url


def test_a_skill_page_answers_html_for_people_and_json_for_programs(live):
    live.issue()
    page = requests.get(f"{live.url}/skills/data-analysis", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "Data analysis" in page.text
    described = requests.get(f"{live.url}/skills/data-analysis", headers={"Accept": "application/json"}, timeout=10)
    assert described.json() | {"description": ""} == {
        "id": f"{live.url}/skills/data-analysis",
        "type": "Skill",
        "name": "Data analysis",
        "code": "data-analysis",
        "framework": "Stint skills",
        "description": "",
    }
    unknown = requests.get(f"{live.url}/skills/basket-weaving", headers={"Accept": "application/json"}, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "skill_not_found"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c["credentialSubject"]["achievement"].update(name="Senior data scientist"),
        lambda c: c["credentialSubject"]["result"][1].update(value="450"),
        lambda c: c["credentialSubject"].update(creditsEarned=15),
        lambda c: c["evidence"][0].update(description="Approved by the CEO"),
    ],
    ids=["achievement name", "hours verified", "credits earned", "approver"],
)
def test_the_independent_verifier_rejects_a_tampered_credential(live, node, tamper):
    credential = copy.deepcopy(live.issue())
    tamper(credential)
    verdict = independent_verifier.verify(node, credential, live.url)
    assert verdict["verified"] is False
    assert any("signature" in error.lower() for error in verdict["errors"]), verdict


def test_the_independent_verifier_sees_a_revocation_in_the_status_list(live, node):
    credential = live.issue()
    uuid = credential["id"].removeprefix("urn:uuid:")
    revoking.revoke_credential(live.runtime, uuid, "work was plagiarised", "admin-1")
    verdict = independent_verifier.verify(node, credential, live.url)
    assert verdict["verified"] is False
    assert verdict["checks"]["valid_signature"] is True
    assert verdict["status"] == [{"purpose": "revocation", "verified": False}]


def test_a_credential_signed_before_a_key_rotation_verifies_through_the_retired_key(live, node):
    before = live.issue()
    issuer.rotate_signing_key(live.runtime)
    after = live.issue()
    assert before["proof"]["verificationMethod"].endswith("#key-1")
    assert after["proof"]["verificationMethod"].endswith("#key-2")
    did = requests.get(f"{live.url}/.well-known/did.json", timeout=10).json()
    assert [m["id"].rsplit("#", 1)[1] for m in did["verificationMethod"]] == ["key-1", "key-2"]
    for credential in (before, after):
        verdict = independent_verifier.verify(node, credential, live.url)
        assert verdict["verified"] is True, verdict


def test_the_independent_verifier_fetches_nothing_else(live, node):
    """A credential naming a context nobody bundles is refused, not fetched."""
    credential = json.loads(json.dumps(live.issue()))
    credential["@context"].append("https://stint.example/contexts/stint-v1.json")
    verdict = independent_verifier.verify(node, credential, live.url)
    assert verdict["verified"] is False
    assert any("refused to load https://stint.example/contexts/stint-v1.json" in e for e in verdict["errors"]), verdict
    assert set(verdict["fetched"]) <= _allowed_fetches(live, credential)


def test_the_independent_verifier_rejects_a_revoked_key_and_accepts_the_reissued_credential(live, node, monkeypatch):
    monkeypatch.setattr(key_revocation, "RETIRED_GRACE_SECONDS", 0)  # rotate and revoke at once
    before = live.issue()
    issuer.rotate_signing_key(live.runtime)
    key_revocation.revoke_key(live.runtime, "key-1", "the private key leaked", "admin-1")
    assert independent_verifier.verify(node, before, live.url)["verified"] is False  # key-1 is gone from did.json
    key = live.runtime.db[store.SIGNING_KEYS].find_one({"_id": "key-1"})
    key_revocation.reissue_signed_with_revoked_key(live.runtime, read_event(key["outbox"][0]))
    [successor] = live.runtime.db[store.CREDENTIALS].find({"reissue_of": before["id"].removeprefix("urn:uuid:")})
    reissued = requests.get(f"{live.url}/credentials/{successor['_id']}", timeout=10).json()
    verdict = independent_verifier.verify(node, reissued, live.url)
    assert verdict["verified"] is True, verdict
    assert reissued["proof"]["verificationMethod"].endswith("#key-2")
