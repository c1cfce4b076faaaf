"""The verification page escapes what it shows; the certificate is a PDF."""

from __future__ import annotations

from datetime import datetime

from services.certification import pages


def context(**overrides) -> dict:
    base = {
        "state": "valid",
        "headline": "Verified",
        "verified": True,
        "credential_id": "urn:uuid:3f1c2a52-8d5e-4c1e-9a7b-2b8f0a1d9e10",
        "title": "Fieldwork: Survey",
        "description": "Completed it.",
        "student_name": "Asha Rao",
        "achievement": "Survey",
        "achievement_type": "Fieldwork",
        "employer": "Acme",
        "hours": "45",
        "credits": "1.5",
        "activity": "2026-01-05 to 2026-01-16",
        "issued": "2026-01-20",
        "issuer_name": "Stint",
        "issuer_id": "did:web:verify.stint.test",
        "revoked_at": None,
        "revocation_reason": None,
        "checks": [{"name": "signature", "label": "Signature", "passed": True, "message": "valid"}],
        "json_url": "https://verify.stint.test/credentials/x",
        "pdf_url": "https://verify.stint.test/credentials/x/pdf",
        "verification_url": "https://verify.stint.test/verify/x",
    }
    return base | overrides


def test_the_page_escapes_names_from_the_credential():
    html = pages.verification_page(context(student_name="<script>alert(1)</script>"))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_page_shows_who_what_and_the_links():
    html = pages.verification_page(context())
    for text in ("Asha Rao", "Acme", "45", "1.5", "did:web:verify.stint.test", "/credentials/x/pdf"):
        assert text in html


def test_an_unknown_id_gets_a_page_saying_so():
    assert "No credential with this id was issued by Stint" in pages.unknown_page("nope")


def test_the_certificate_is_a_pdf():
    document = pages.certificate_pdf(context(state="revoked"))
    assert document.startswith(b"%PDF-") and len(document) > 1000


def test_the_student_is_named_from_the_ob3_name_identifier_or_an_old_credentials_name():
    current = {"identifier": [{"identityType": "name", "hashed": False, "identityHash": "Asha Rao"}]}
    hashed_only = {"identifier": [{"identityType": "emailAddress", "hashed": True, "identityHash": "sha256$ab"}]}
    assert pages.student_name(current) == "Asha Rao"
    assert pages.student_name({"name": "Asha Rao", **hashed_only}) == "Asha Rao"  # issued with stint-v1
    assert pages.student_name(hashed_only) == ""


def _record(**changes) -> dict:
    base = {
        "_id": "3f1c2a52-8d5e-4c1e-9a7b-2b8f0a1d9e10",
        "credential_id": "urn:uuid:3f1c2a52-8d5e-4c1e-9a7b-2b8f0a1d9e10",
        "hours": 45.0,
        "credits_recommended": 1.5,
        "started_on": "2026-01-05",
        "completed_on": "2026-01-16",
        "issued_at": datetime(2026, 1, 20),
        "org_name": "Acme",
    }
    return base | changes


def _result(issuer_key_message: str = "signed with key-2 (the current key)", passed: bool = True) -> dict:
    checks = [{"name": "issuer_key", "passed": passed, "message": issuer_key_message}]
    return {"verified": passed, "checks": checks}


def test_a_replaced_credential_links_to_its_successor_and_says_why():
    successor = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
    record = _record(
        revoked=True, revocation_reason="re-issued", superseded_by=successor, revoked_at=_record()["issued_at"]
    )
    found = pages.summary(record, _result("key-1 was revoked as compromised", passed=False), {}, "https://v.test")
    assert found["state"] == "reissued" and found["successor_url"] == f"https://v.test/verify/{successor}"
    html = pages.verification_page(found)
    assert "See the re-issued credential" in html and f'href="https://v.test/verify/{successor}"' in html
    assert "re-issued it under a new key" in html
    assert pages.certificate_pdf(found).startswith(b"%PDF-")


def test_a_credential_signed_with_a_revoked_key_says_the_key_was_compromised():
    message = "key-1 was revoked on 2026-02-01 as compromised: Stint no longer trusts what it signed"
    found = pages.summary(_record(revoked=False), _result(message, passed=False), {}, "https://v.test")
    assert found["state"] == "invalid" and found["key_revoked"] is True
    html = pages.verification_page(found)
    assert "revoked as compromised" in html and "See the re-issued credential" not in html


def test_a_successor_says_which_credential_it_replaces():
    old = "3f1c2a52-8d5e-4c1e-9a7b-2b8f0a1d9e10"
    found = pages.summary(_record(_id="new-id", reissue_of=old), _result(), {}, "https://v.test")
    assert found["state"] == "valid" and found["predecessor_url"] == f"https://v.test/verify/{old}"
    assert "an earlier credential" in pages.verification_page(found)
