"""The W3C eddsa-rdfc-2022 test vectors are reproduced exactly, and the spec's signed credentials verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.certification import dataintegrity as di
from services.certification.jsonld import shipped_loader

VECTORS = Path(__file__).resolve().parent / "vectors"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
LOADER = shipped_loader({EXAMPLES_V2: VECTORS / "examples-v2.jsonld"})


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


@pytest.fixture
def key_pair():
    return load("keyPair.json")


@pytest.fixture
def unsecured():
    return load("unsecured.json")


@pytest.fixture
def recommendation():
    return load("rdfc-recommendation.json")


def test_the_secret_key_derives_the_published_public_key(key_pair):
    private_key = di.private_key_from_multibase(key_pair["secretKeyMultibase"])
    assert di.public_key_multibase(private_key.public_key()) == key_pair["publicKeyMultibase"]


def test_canonical_forms_and_hashes_match_the_recommendation(unsecured, recommendation):
    config = {**recommendation["proofOptions"], "@context": unsecured["@context"]}
    data = di.hash_data(unsecured, config, LOADER)
    assert data.canonical_document == recommendation["canonicalDocument"]
    assert data.canonical_proof_config == recommendation["canonicalProofConfig"]
    assert data.document_hash.hex() == recommendation["documentHash"]
    assert data.proof_config_hash.hex() == recommendation["proofConfigHash"]
    assert data.combined.hex() == recommendation["combinedHash"]


def test_signing_gives_the_recommendations_signature_and_proof_value(key_pair, unsecured, recommendation):
    private_key = di.private_key_from_multibase(key_pair["secretKeyMultibase"])
    signed = di.add_proof(unsecured, recommendation["proofOptions"], private_key, LOADER)
    proof_value = signed["proof"]["proofValue"]
    assert proof_value == recommendation["proofValue"]
    assert di.decode_multibase_base58btc(proof_value).hex() == recommendation["signatureHex"]
    assert signed["proof"] == {**recommendation["proofOptions"], "proofValue": recommendation["proofValue"]}


def test_the_recommendations_signed_credential_verifies(key_pair, unsecured, recommendation):
    signed = {**unsecured, "proof": {**recommendation["proofOptions"], "proofValue": recommendation["proofValue"]}}
    di.verify_proof(signed, di.public_key_from_multibase(key_pair["publicKeyMultibase"]), LOADER)


def test_the_repository_vectors_are_reproduced_and_verify(key_pair, unsecured):
    expected = load("rdfc-repository.json")
    signed = load("rdfc-repository-signed.json")
    options = {key: value for key, value in signed["proof"].items() if key != "proofValue"}
    data = di.hash_data(unsecured, {**options, "@context": unsecured["@context"]}, LOADER)
    assert data.combined.hex() == expected["combinedHash"]
    private_key = di.private_key_from_multibase(key_pair["secretKeyMultibase"])
    resigned = di.add_proof(unsecured, options, private_key, LOADER)
    assert resigned["proof"]["proofValue"] == expected["proofValue"] == signed["proof"]["proofValue"]
    assert di.decode_multibase_base58btc(expected["proofValue"]).hex() == expected["signatureHex"]
    di.verify_proof(signed, di.public_key_from_multibase(key_pair["publicKeyMultibase"]), LOADER)


def test_a_changed_value_in_the_spec_credential_no_longer_verifies(key_pair, unsecured, recommendation):
    signed = {**unsecured, "proof": {**recommendation["proofOptions"], "proofValue": recommendation["proofValue"]}}
    signed["credentialSubject"] = {**signed["credentialSubject"], "alumniOf": "The School of Counterfeits"}
    with pytest.raises(di.ProofError):
        di.verify_proof(signed, di.public_key_from_multibase(key_pair["publicKeyMultibase"]), LOADER)
