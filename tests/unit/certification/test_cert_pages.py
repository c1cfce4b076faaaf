"""The verification page escapes what it shows; the certificate is a PDF."""

from __future__ import annotations

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
