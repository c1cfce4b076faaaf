"""The Open Badges 3.0 credential Stint builds for approved fieldwork."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from services.certification import credential as c
from services.certification.jsonld import canonicalize
from tests.unit.certification.samples import work_approved_data

PUBLIC_URL = "https://verify.stint.test"


def build(**overrides) -> dict:
    return c.build_credential(
        work_approved_data(**overrides),
        credential_id="urn:uuid:3f1c2a52-8d5e-4c1e-9a7b-2b8f0a1d9e10",
        issuer_did=c.did_web(PUBLIC_URL),
        public_url=PUBLIC_URL,
        issued_at=datetime(2026, 1, 20, 9, 30, tzinfo=UTC),
        status=c.StatusEntry(f"{PUBLIC_URL}/status-lists/abc123", 4242),
    )


@pytest.mark.parametrize(
    ("hours", "credits"),
    [(0, 0.0), (14, 0.0), (15, 0.5), (29.9, 0.5), (30, 1.0), (44, 1.0), (45, 1.5), (59, 1.5), (60, 2.0), (121, 4.0)],
)
def test_credits_are_hours_over_thirty_rounded_down_to_halves(hours, credits):
    assert c.credits_for(hours) == credits


def test_the_issuer_is_the_did_web_of_the_public_host_with_the_port_escaped():
    assert c.did_web("https://verify.stint.test") == "did:web:verify.stint.test"
    assert c.did_web("http://127.0.0.1:8003/") == "did:web:127.0.0.1%3A8003"


def test_the_credential_is_an_open_badge_for_fieldwork():
    credential = build()
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert credential["issuer"] == {
        "id": "did:web:verify.stint.test",
        "type": ["Profile"],
        "name": "Stint",
        "url": PUBLIC_URL,
    }
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["achievementType"] == "Fieldwork"
    assert achievement["name"] == "Customer survey analysis"
    assert "A 5-page report with charts" in achievement["criteria"]["narrative"]
    assert [a["targetName"] for a in achievement["alignment"]] == ["Python", "Data analysis", "Writing"]
    assert achievement["creditsAvailable"] == 2
    assert subject["creditsEarned"] == 1.5
    assert subject["engagementHours"] == 45
    assert subject["role"] == "Intern"
    assert subject["activityStartDate"].startswith("2026-01-05")
    assert subject["activityEndDate"].startswith("2026-01-16")
    assert subject["result"][0]["value"] == "4"
    assert subject["result"][0]["resultDescription"] == achievement["resultDescription"][0]["id"]
    assert subject["source"]["name"] == "Acme Analytics"
    assert subject["source"]["approver"]["name"] == "Ravi Menon"
    assert credential["credentialStatus"]["statusListIndex"] == "4242"
    assert credential["credentialStatus"]["statusPurpose"] == "revocation"


def test_the_student_appears_by_name_and_salted_email_hash_never_the_email():
    credential = build()
    subject = credential["credentialSubject"]
    assert subject["name"] == "Asha Rao"
    identity = subject["identifier"][0]
    salt = identity["salt"]
    assert identity["hashed"] is True and identity["identityType"] == "emailAddress"
    assert identity["identityHash"] == "sha256$" + hashlib.sha256(("asha@example.org" + salt).encode()).hexdigest()
    assert "asha@example.org" not in json.dumps(credential)
    assert "ravi@acme.example.com" not in json.dumps(credential)


def test_each_credential_gets_its_own_salt():
    first, second = build(), build()
    assert first["credentialSubject"]["identifier"][0]["salt"] != second["credentialSubject"]["identifier"][0]["salt"]


def test_evidence_holds_the_submission_digest_and_each_link_once():
    evidence = build()["evidence"]
    assert evidence[0]["submissionDigest"] == "sha256:" + "a" * 64
    assert [e["id"] for e in evidence[1:]] == ["https://github.com/asha/survey", "https://docs.example.org/report"]


def test_every_field_of_the_credential_is_defined_by_its_contexts():
    """Strict canonicalisation refuses undefined terms, so nothing in the credential goes unsigned."""
    nquads = canonicalize(build())
    assert "https://stint.example/vocab#engagementHours" in nquads
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#creditsEarned" in nquads
