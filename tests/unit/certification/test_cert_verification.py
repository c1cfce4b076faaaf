"""Verification reports each concern as its own check (keys and revocation bits from in-memory fakes)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.certification import credential as c
from services.certification import dataintegrity as di
from services.certification import verification_checks as v
from tests.unit.certification.samples import reordered, work_approved_data

PUBLIC_URL = "https://verify.stint.test"
DID = c.did_web(PUBLIC_URL)
PREFIX = f"{PUBLIC_URL}/status-lists/"
NOW = datetime(2026, 2, 1, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()


def signed(key_id: str = "key-1", issued_at: datetime = NOW - timedelta(days=1), **changes) -> dict:
    unsigned = c.build_credential(
        work_approved_data(),
        credential_id="urn:uuid:3f1c2a52-8d5e-4c1e-9a7b-2b8f0a1d9e10",
        issuer_did=DID,
        public_url=PUBLIC_URL,
        issued_at=issued_at,
        status=c.StatusEntry(PREFIX + "list1", 77),
    )
    unsigned.update(changes)
    options = di.proof_options(f"{DID}#{key_id}", c.utc_timestamp(issued_at))
    return di.add_proof(unsigned, options, KEY)


def verifier(revoked: set[int] = frozenset()) -> v.Verifier:
    keys = {f"{DID}#key-1": (di.public_key_multibase(KEY.public_key()), "the current key")}
    return v.Verifier(DID, PREFIX, keys.get, lambda list_id, index: index in revoked if list_id == "list1" else None)


def checks_of(answer: dict) -> dict[str, bool]:
    return {check["name"]: check["passed"] for check in answer["checks"]}


def test_a_genuine_credential_passes_every_check():
    answer = v.verify(signed(), verifier(), NOW)
    assert answer["verified"] is True
    assert checks_of(answer) == {
        "well_formed": True,
        "issuer_key": True,
        "signature": True,
        "status": True,
        "validity_window": True,
    }


def test_a_revoked_credential_fails_only_the_status_check():
    answer = v.verify(signed(), verifier(revoked={77}), NOW)
    assert answer["verified"] is False
    assert [name for name, passed in checks_of(answer).items() if not passed] == ["status"]


def test_a_changed_value_fails_the_signature_check():
    document = signed()
    document["credentialSubject"]["creditsEarned"] = 4
    assert checks_of(v.verify(document, verifier(), NOW))["signature"] is False


def test_an_added_undefined_field_makes_the_credential_not_well_formed():
    document = signed()
    document["credentialSubject"]["grade"] = "A+"
    assert checks_of(v.verify(document, verifier(), NOW))["well_formed"] is False


def test_verifying_again_answers_the_same_and_a_change_after_a_genuine_copy_is_still_caught():
    # Canonical forms are remembered by the document's text: each variant must still get its own answer.
    genuine = signed()
    changed = copy.deepcopy(genuine)
    changed["credentialSubject"]["creditsEarned"] = 4
    undefined = copy.deepcopy(genuine)
    undefined["credentialSubject"]["grade"] = "A+"
    for _ in range(2):
        assert v.verify(genuine, verifier(), NOW)["verified"] is True
        assert checks_of(v.verify(changed, verifier(), NOW))["signature"] is False
        assert checks_of(v.verify(undefined, verifier(), NOW))["well_formed"] is False
    assert v.verify(genuine, verifier(revoked={77}), NOW)["verified"] is False  # revocation is read every time


def kept_copy(credits_earned: float = 1.5) -> di.SignedCopy:
    """What the issuer keeps when it signs: the credential (signed() with these credits) and what was signed."""
    genuine = signed()
    unsecured = {key: value for key, value in genuine.items() if key != "proof"}
    unsecured["credentialSubject"] = {**unsecured["credentialSubject"], "creditsEarned": credits_earned}
    options = {key: value for key, value in genuine["proof"].items() if key != "proofValue"}
    return di.sign(unsecured, options, KEY)


def test_a_presented_copy_of_a_credential_the_issuer_kept_is_checked_without_canonicalising_it(monkeypatch):
    kept = kept_copy()
    presented = reordered(kept.document)
    assert list(presented) != list(kept.document)
    monkeypatch.setattr(di, "hash_data", _no_canonicalisation)
    answer = v.verify(presented, verifier(), NOW, lambda: kept)
    assert answer["verified"] is True, answer
    assert (
        v.verify(presented, verifier(revoked={77}), NOW, lambda: kept)["verified"] is False
    )  # revocation is still read


def test_a_credential_whose_canonical_forms_are_remembered_is_not_looked_up():
    document = signed()
    assert v.verify(document, verifier(), NOW)["verified"] is True
    assert v.verify(document, verifier(), NOW, _no_lookup)["verified"] is True


def test_a_presented_text_matched_to_its_kept_copy_is_not_looked_up_again():
    kept = kept_copy(credits_earned=2.5)
    presented = reordered(kept.document)
    reads = []
    assert v.verify(presented, verifier(), NOW, lambda: reads.append(1) or kept)["verified"] is True
    assert v.verify(presented, verifier(), NOW, _no_lookup)["verified"] is True
    assert reads == [1]
    assert v.verify(presented, verifier(revoked={77}), NOW, _no_lookup)["verified"] is False  # revocation is read


def _no_lookup():
    raise AssertionError("the kept copy was read for a document whose canonical forms are remembered")


def test_a_presented_credential_that_differs_from_the_kept_copy_in_any_value_is_canonicalised_and_caught():
    kept = kept_copy()
    changed = copy.deepcopy(kept.document)
    changed["credentialSubject"]["creditsEarned"] = 4
    assert checks_of(v.verify(changed, verifier(), NOW, lambda: kept))["signature"] is False
    kept_one = kept_copy(credits_earned=1)  # Python holds 1 == True; JSON-LD does not, and neither may this check
    presented = copy.deepcopy(kept_one.document)
    presented["credentialSubject"]["creditsEarned"] = True
    assert presented == kept_one.document
    assert v.verify(presented, verifier(), NOW, lambda: kept_one)["verified"] is False
    assert v.verify(kept_one.document, verifier(), NOW, lambda: kept_one)["verified"] is True


def test_a_kept_copy_from_before_its_signed_input_was_kept_is_canonicalised_as_any_other():
    kept = kept_copy()
    answer = v.verify(reordered(kept.document), verifier(), NOW, lambda: di.SignedCopy(kept.document, None))
    assert answer["verified"] is True


def _no_canonicalisation(*_args, **_kwargs):
    raise AssertionError("the presented copy was canonicalised")


def test_a_key_missing_from_the_did_document_fails_the_issuer_key_check():
    answer = v.verify(signed(key_id="key-9"), verifier(), NOW)
    assert checks_of(answer)["issuer_key"] is False and answer["verified"] is False


def test_another_issuer_fails_the_issuer_key_check():
    document = signed()
    document["issuer"] = {**document["issuer"], "id": "did:web:forger.example"}
    assert checks_of(v.verify(document, verifier(), NOW))["issuer_key"] is False


def test_validity_window_is_checked():
    future = signed(issued_at=NOW + timedelta(days=2))
    assert checks_of(v.verify(future, verifier(), NOW))["validity_window"] is False
    expired = signed(validUntil="2026-01-15T00:00:00Z")
    assert checks_of(v.verify(expired, verifier(), NOW))["validity_window"] is False
    current = signed(validUntil="2027-01-01T00:00:00Z")
    assert v.verify(current, verifier(), NOW)["verified"] is True


@pytest.mark.parametrize("document", [None, [], "text", 42, {}, {"@context": "nope"}])
def test_something_that_is_not_a_credential_is_not_verified(document):
    answer = v.verify(copy.deepcopy(document), verifier(), NOW)
    assert answer["verified"] is False
    assert checks_of(answer)["well_formed"] is False


def test_an_unknown_status_list_fails_the_status_check():
    document = signed()
    document["credentialStatus"]["statusListCredential"] = PREFIX + "other"
    assert checks_of(v.verify(document, verifier(), NOW))["status"] is False


def test_a_credential_signed_with_a_revoked_key_fails_the_issuer_key_check_saying_why():
    reason = "key-1 was revoked on 2026-01-31 as compromised (leaked): Stint no longer trusts what it signed"
    distrusted = v.Verifier(DID, PREFIX, lambda _method: None, lambda _list, _index: False, lambda _method: reason)
    answer = v.verify(signed(), distrusted, NOW)
    issuer_key = next(check for check in answer["checks"] if check["name"] == "issuer_key")
    assert answer["verified"] is False
    assert issuer_key == {"name": "issuer_key", "passed": False, "message": reason}
    assert checks_of(answer)["signature"] is False  # never checked against a key nobody should trust
