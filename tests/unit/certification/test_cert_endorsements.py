"""The EndorsementCredential an organisation issues for approved work (pure: built and signed in memory)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.certification import dataintegrity as di
from services.certification.endorsements import build_endorsement, org_did

CREDENTIAL_ID = "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"
ISSUED_AT = datetime(2026, 11, 30, 10, 15, 30, tzinfo=UTC)


def endorsement(**overrides) -> dict:
    values = {
        "endorsement_id": "urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8",
        "credential_id": CREDENTIAL_ID,
        "org": {"did": "did:web:cert.stint.test:orgs:acme-3f9a1c", "name": "Acme Analytics"},
        "comment": "Asha cleaned 2,000 answers and found what we had missed.",
        "student_name": "Asha Rao",
        "listing_title": "Customer survey analysis",
        "issued_at": ISSUED_AT,
    }
    return build_endorsement(**(values | overrides))


def test_an_organisation_did_is_a_path_under_the_platform_did():
    assert org_did("did:web:cert.stint.test", "acme-3f9a1c") == "did:web:cert.stint.test:orgs:acme-3f9a1c"
    assert org_did("did:web:127.0.0.1%3A8003", "acme") == "did:web:127.0.0.1%3A8003:orgs:acme"


def test_the_endorsement_is_an_ob3_endorsement_credential_with_only_the_standard_contexts():
    built = endorsement()
    assert built["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert built["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert built["validFrom"] == "2026-11-30T10:15:30Z"
    assert built["name"] == "Acme Analytics endorses Asha Rao's work on \u201cCustomer survey analysis\u201d"


def test_the_organisation_issues_it_and_its_subject_is_the_endorsed_credential():
    built = endorsement()
    assert built["issuer"] == {
        "id": "did:web:cert.stint.test:orgs:acme-3f9a1c",
        "type": ["Profile"],
        "name": "Acme Analytics",
    }
    assert built["credentialSubject"] == {
        "id": CREDENTIAL_ID,
        "type": ["EndorsementSubject"],
        "endorsementComment": "Asha cleaned 2,000 answers and found what we had missed.",
    }


def test_a_signed_endorsement_verifies_and_a_changed_comment_does_not():
    key = Ed25519PrivateKey.generate()
    options = di.proof_options("did:web:cert.stint.test:orgs:acme-3f9a1c#key-1", "2026-11-30T10:15:30Z")
    signed = di.add_proof(endorsement(), options, key)
    di.verify_proof(signed, key.public_key())
    tampered = {**signed, "credentialSubject": {**signed["credentialSubject"], "endorsementComment": "Hire her."}}
    with pytest.raises(di.ProofError):
        di.verify_proof(tampered, key.public_key())
