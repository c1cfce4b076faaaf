"""The Open Badges 3.0 credential Stint builds for approved fieldwork."""

from __future__ import annotations

import base64
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
    assert credential["issuer"] == {"id": "did:web:verify.stint.test", "type": ["Profile"], "name": "Stint"}
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["achievementType"] == "Fieldwork"
    assert achievement["name"] == "Customer survey analysis"
    assert "A 5-page report with charts" in achievement["criteria"]["narrative"]
    assert achievement["creditsAvailable"] == 2
    assert subject["creditsEarned"] == 1.5
    assert subject["role"] == "Intern"
    assert subject["activityStartDate"].startswith("2026-01-05")
    assert subject["activityEndDate"].startswith("2026-01-16")
    assert subject["source"] == {
        "id": c.urn_for("org", "org-acme"),
        "type": ["Profile"],
        "name": "Acme Analytics",
        "url": "https://acme.example.com",
    }
    assert credential["credentialStatus"]["statusListIndex"] == "4242"
    assert credential["credentialStatus"]["statusPurpose"] == "revocation"


def test_only_the_standard_contexts_are_used_never_the_stint_extension():
    credential = build()
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert "stint.example" not in json.dumps(credential)


def test_the_subject_holds_only_what_an_achievement_subject_may():
    subject = build()["credentialSubject"]
    assert set(subject) == {
        "type",
        "identifier",
        "achievement",
        "creditsEarned",
        "activityStartDate",
        "activityEndDate",
        "role",
        "result",
        "source",
    }


def _result(credential: dict, name: str) -> tuple[dict, dict]:
    """The result whose description has `name`, and that description."""
    subject = credential["credentialSubject"]
    described = {d["id"]: d for d in subject["achievement"]["resultDescription"]}
    for result in subject["result"]:
        if described[result["resultDescription"]]["name"] == name:
            return result, described[result["resultDescription"]]
    raise AssertionError(f"no result described as {name!r}")


def test_hours_verified_are_a_result_that_its_description_explains():
    result, description = _result(build(), "Hours of work verified by the employer")
    assert result["value"] == "45"
    assert description["resultType"] == "ext:HoursVerified"
    assert (description["valueMin"], description["valueMax"]) == ("0", "60")


def test_the_rating_is_a_result_aligned_to_the_skills_the_employer_saw():
    result, description = _result(build(), "Employer's rating of the work")
    assert result["value"] == "4"
    assert (description["resultType"], description["valueMin"], description["valueMax"]) == ("RawScore", "1", "5")
    assert [a["targetName"] for a in result["alignment"]] == ["Python", "Data analysis"]


def test_skills_are_alignments_to_the_services_skill_pages():
    alignments = build()["credentialSubject"]["achievement"]["alignment"]
    assert [a["targetName"] for a in alignments] == ["Python", "Data analysis", "Writing"]
    assert alignments[1]["targetUrl"] == f"{PUBLIC_URL}/skills/data-analysis"
    assert alignments[1]["targetCode"] == "data-analysis"


@pytest.mark.parametrize(
    ("skill", "slug"),
    [
        ("Python", "python"),
        ("Data analysis", "data-analysis"),
        ("C++", "c-plus-plus"),
        ("C#", "c-sharp"),
        ("  UX / UI  ", "ux-ui"),
        ("हिंदी लेखन", "हिंदी-लेखन"),
        ("???", "skill"),
    ],
)
def test_a_skill_slug_is_lower_case_words_joined_by_hyphens(skill, slug):
    assert c.skill_slug(skill) == slug


def test_the_student_appears_by_name_and_salted_email_hash_never_the_email():
    credential = build()
    by_name, by_email = credential["credentialSubject"]["identifier"]
    assert by_name == {"type": "IdentityObject", "identityHash": "Asha Rao", "identityType": "name", "hashed": False}
    salt = by_email["salt"]
    assert by_email["hashed"] is True and by_email["identityType"] == "emailAddress"
    assert by_email["identityHash"] == "sha256$" + hashlib.sha256(("asha@example.org" + salt).encode()).hexdigest()
    assert "asha@example.org" not in json.dumps(credential)
    assert "ravi@acme.example.com" not in json.dumps(credential)


def test_each_credential_gets_its_own_salt():
    first, second = build(), build()
    assert first["credentialSubject"]["identifier"][1]["salt"] != second["credentialSubject"]["identifier"][1]["salt"]


def test_evidence_names_the_submission_by_its_digest_and_says_who_approved_it():
    evidence = build()["evidence"]
    submission = evidence[0]
    digest = bytes.fromhex("a" * 64)
    assert submission["id"] == "ni:///sha-256;" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert "a" * 64 in submission["description"]
    assert "Approved by Ravi Menon for Acme Analytics on 2026-01-16" in submission["description"]
    assert [e["id"] for e in evidence[1:]] == ["https://github.com/asha/survey", "https://docs.example.org/report"]


def test_every_field_of_the_credential_is_defined_by_its_contexts():
    """Strict canonicalisation refuses undefined terms, so nothing in the credential goes unsigned."""
    nquads = canonicalize(build())
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#creditsEarned" in nquads
    assert "stint.example" not in nquads
