"""Contexts ship with the service and are never fetched; undefined terms are refused."""

from __future__ import annotations

import json

import pytest
from pyld import jsonld as pyld_jsonld

from services.certification.jsonld import (
    CONTEXTS_DIR,
    DEFAULT_LOADER,
    OB_V3,
    SHIPPED,
    STINT_V1,
    VC_V2,
    ContextNotShipped,
    NotStrictJsonLd,
    canonicalize,
    shipped_loader,
)


def test_every_shipped_context_is_a_file_in_the_repository():
    for url, name in SHIPPED.items():
        document = json.loads((CONTEXTS_DIR / name).read_text())
        assert "@context" in document, url
    assert set(SHIPPED) == {VC_V2, OB_V3, STINT_V1}


def test_the_loader_refuses_any_other_url():
    with pytest.raises(ContextNotShipped):
        DEFAULT_LOADER("https://evil.example/context.json", {})


def test_pyld_uses_the_shipped_loader_by_default():
    with pytest.raises(pyld_jsonld.JsonLdError):
        pyld_jsonld.expand({"@context": "https://example.org/not-shipped.json", "a": 1})


def test_a_document_with_an_undefined_term_is_refused():
    with pytest.raises(NotStrictJsonLd):
        canonicalize({"@context": [VC_V2], "type": ["VerifiableCredential"], "sneaky": "value"})


def test_a_relative_type_is_refused():
    with pytest.raises(NotStrictJsonLd):
        canonicalize({"@context": [VC_V2], "id": "urn:uuid:1", "type": ["VerifiableCredential", "Sneaky"]})


def test_whole_floats_canonicalise_like_integers_as_javascript_verifiers_read_them():
    as_float = canonicalize({"@context": [VC_V2, OB_V3], "type": "AchievementSubject", "creditsEarned": 2.0})
    as_int = canonicalize({"@context": [VC_V2, OB_V3], "type": "AchievementSubject", "creditsEarned": 2})
    assert as_float == as_int


def test_canonical_forms_are_pyld_s_own_the_first_time_and_every_time_after():
    # The loader remembers processed contexts and canonical forms; neither may change an answer, whatever came before.
    from tests.unit.certification.test_cert_endorsements import endorsement
    from tests.unit.certification.test_cert_verification import signed

    credential = signed()
    proof = credential.pop("proof")
    config = {"@context": credential["@context"], **{k: v for k, v in proof.items() if k != "proofValue"}}
    subject_alone = {"@context": [VC_V2, OB_V3], "type": "AchievementSubject", "creditsEarned": 2}
    documents = [credential, config, endorsement(), subject_alone, signed(key_id="key-2")]
    loader = shipped_loader()
    for _ in range(2):
        for document in documents:
            options = {"algorithm": "URDNA2015", "format": "application/n-quads", "base": None}
            plain = pyld_jsonld.normalize(document, {**options, "documentLoader": shipped_loader()})
            assert canonicalize(document, loader) == plain
