"""Revocation through the status list, and key rotation that keeps old credentials verifiable."""

from __future__ import annotations

import threading

import pytest

from services.certification import dataintegrity as di
from services.certification import store
from services.certification.keys import KeyRing, KeyUnavailable
from services.certification.statuslist import decode_list, is_set
from tests.support.pipeline import create_topics, publish_pending


def _did_keys(client) -> dict[str, str]:
    document = client.get("/.well-known/did.json").get_json()
    return {method["id"]: method["publicKeyMultibase"] for method in document["verificationMethod"]}


def test_revoking_sets_the_bit_in_the_signed_status_list_and_verification_fails(client, issue, as_role):
    record, bystander = issue(), issue()
    document = client.get(f"/credentials/{record['_id']}").get_json()
    response = client.post(
        f"/credentials/{record['_id']}/revoke", json={"reason": "work was plagiarised"}, headers=as_role("admin")
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["revoked"] is True and response.get_json()["revocation_reason"] == "work was plagiarised"

    answer = client.post("/verify", json=document).get_json()
    assert answer["verified"] is False
    assert {c["name"]: c["passed"] for c in answer["checks"]}["status"] is False
    other = client.get(f"/credentials/{bystander['_id']}").get_json()
    assert client.post("/verify", json=other).get_json()["verified"] is True

    status_list = client.get(f"/status-lists/{record['status_list_id']}").get_json()
    assert status_list["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    bits = decode_list(status_list["credentialSubject"]["encodedList"])
    assert len(bits) * 8 >= 131_072
    assert is_set(bits, record["status_index"]) and not is_set(bits, bystander["status_index"])
    key = _did_keys(client)[status_list["proof"]["verificationMethod"]]
    di.verify_proof(status_list, di.public_key_from_multibase(key))

    page = client.get(f"/verify/{record['_id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "revoked" in page and "work was plagiarised" in page


def test_a_credential_is_revoked_once(client, issue, as_role):
    record = issue()
    url = f"/credentials/{record['_id']}/revoke"
    assert client.post(url, json={"reason": "duplicate"}, headers=as_role("admin")).status_code == 200
    again = client.post(url, json={"reason": "duplicate"}, headers=as_role("admin"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_revoked"


def test_a_credential_named_by_its_urn_is_revoked_as_by_its_bare_id(client, issue, as_role, runtime):
    record = issue()
    url = f"/credentials/{record['credential_id'].upper().replace('URN:UUID:', 'urn:uuid:')}/revoke"  # upper-case hex
    revoked = client.post(url, json={"reason": "fraud"}, headers=as_role("admin"))
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["revoked"] is True and store.credential_by_id(runtime.db, record["_id"])["revoked"]
    again = client.post(f"/credentials/{record['_id']}/revoke", json={"reason": "fraud"}, headers=as_role("admin"))
    assert again.status_code == 409


def test_revocation_emits_certificate_revoked(client, issue, as_role, cert_settings, runtime):
    create_topics(cert_settings)
    record = issue()
    publish_pending(cert_settings, store.outbox_collections(runtime.db))
    client.post(f"/credentials/{record['_id']}/revoke", json={"reason": "fraud"}, headers=as_role("admin"))
    stored = runtime.db["credentials"].find_one({"_id": record["_id"]})
    revoked = [e for e in stored["outbox"] if e["type"] == "stint.certificate.revoked.v1"]
    assert len(revoked) == 1 and revoked[0]["data"]["reason"] == "fraud"
    assert publish_pending(cert_settings, store.outbox_collections(runtime.db)) == 1


def test_the_status_list_is_signed_once_per_change(client, issue, as_role):
    record = issue()
    url = f"/status-lists/{record['status_list_id']}"
    first, second = client.get(url).get_json(), client.get(url).get_json()
    assert first == second
    client.post(f"/credentials/{record['_id']}/revoke", json={"reason": "fraud"}, headers=as_role("admin"))
    assert client.get(url).get_json()["credentialSubject"] != first["credentialSubject"]


def test_after_rotation_old_and_new_credentials_verify_and_did_json_lists_both_keys(client, issue, as_role):
    before = issue()
    rotated = client.post("/keys/rotate", headers=as_role("admin"))
    assert rotated.status_code == 201 and rotated.get_json()["id"] == "key-2"
    assert rotated.get_json()["status"] == "current"
    after = issue()
    old_doc = client.get(f"/credentials/{before['_id']}").get_json()
    new_doc = client.get(f"/credentials/{after['_id']}").get_json()
    assert old_doc["proof"]["verificationMethod"].endswith("#key-1")
    assert new_doc["proof"]["verificationMethod"].endswith("#key-2")
    for document in (old_doc, new_doc):
        assert client.post("/verify", json=document).get_json()["verified"] is True

    did = client.get("/.well-known/did.json").get_json()
    assert did["id"] == "did:web:verify.stint.test"
    ids = [method["id"] for method in did["verificationMethod"]]
    assert ids == ["did:web:verify.stint.test#key-1", "did:web:verify.stint.test#key-2"]
    assert did["assertionMethod"] == ids
    assert all(method["type"] == "Multikey" for method in did["verificationMethod"])
    old_answer = client.post("/verify", json=old_doc).get_json()
    assert "retired" in next(c["message"] for c in old_answer["checks"] if c["name"] == "issuer_key")


def test_the_did_document_never_shows_private_key_material(client, issue):
    issue()
    text = client.get("/.well-known/did.json").get_data(as_text=True)
    assert "PRIVATE" not in text and "secretKey" not in text and "privateKey" not in text


def test_processes_starting_together_agree_on_one_first_key(runtime, tmp_path):
    rings = [KeyRing(runtime.db, tmp_path / "keys") for _ in range(4)]
    chosen = []
    threads = [threading.Thread(target=lambda ring=ring: chosen.append(ring.current().key_id)) for ring in rings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert chosen == ["key-1"] * 4
    assert runtime.db["signing_keys"].count_documents({}) == 1
    assert len(list((tmp_path / "keys").iterdir())) == 1  # the losers removed their unpublished files


def test_a_process_without_the_private_key_file_refuses_to_sign(runtime, issue, tmp_path):
    issue()
    elsewhere = KeyRing(runtime.db, tmp_path / "empty-dir")
    with pytest.raises(KeyUnavailable) as error:
        elsewhere.current()
    assert error.value.code == "signing_key_missing" and error.value.status == 503
