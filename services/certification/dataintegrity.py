"""Data Integrity proofs with the eddsa-rdfc-2022 cryptosuite, and Ed25519 Multikey encodings."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

import base58
from cachetools import LRUCache
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.certification.jsonld import (
    CANONICAL_FORMS_KEPT,
    ShippedContextLoader,
    canonicalize,
    remembered,
    same_json,
    text_digest,
)

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
# Multicodec prefixes (varint): ed25519-pub 0xed, ed25519-priv 0x1300.
ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"


class ProofError(ValueError):
    """The proof is malformed or does not verify."""


def multibase_base58btc(data: bytes) -> str:
    """Multibase base58-btc: 'z' + base58."""
    return "z" + base58.b58encode(data).decode("ascii")


def decode_multibase_base58btc(value: str) -> bytes:
    """Bytes of a 'z'-prefixed multibase value; ProofError when it is not one."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise ProofError("the value is not multibase base58-btc (it must start with 'z')")
    try:
        return base58.b58decode(value[1:])
    except ValueError as exc:
        raise ProofError(f"the value is not valid base58: {exc}") from None


def public_key_multibase(public_key: Ed25519PublicKey) -> str:
    """An Ed25519 public key as a Multikey publicKeyMultibase."""
    return multibase_base58btc(ED25519_PUB_PREFIX + public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """The Ed25519 public key of a Multikey publicKeyMultibase."""
    raw = decode_multibase_base58btc(value)
    if len(raw) != 34 or raw[:2] != ED25519_PUB_PREFIX:
        raise ProofError("publicKeyMultibase is not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def private_key_from_multibase(value: str) -> Ed25519PrivateKey:
    """The Ed25519 private key of a Multikey secretKeyMultibase (test vectors use this form)."""
    raw = decode_multibase_base58btc(value)
    if len(raw) != 34 or raw[:2] != ED25519_PRIV_PREFIX:
        raise ProofError("secretKeyMultibase is not an Ed25519 Multikey secret key")
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


@dataclass(frozen=True)
class HashData:
    """The intermediate values of the eddsa-rdfc-2022 transformation and hashing steps."""

    canonical_proof_config: str
    canonical_document: str
    proof_config_hash: bytes
    document_hash: bytes

    @property
    def combined(self) -> bytes:
        """What Ed25519 signs: SHA-256(proof config) followed by SHA-256(document)."""
        return self.proof_config_hash + self.document_hash


@dataclass(frozen=True)
class SignedCopy:
    """A document as its signer kept it, with what was signed for it (`HashData.combined`): a presented document that
    is the same JSON (`same_json`) has the same canonical form, so it is checked against `combined` without
    canonicalising it again. Anything else, a changed byte of a value included, is canonicalised in full."""

    document: dict
    combined: bytes | None  # None for a credential kept before what was signed was kept with it


# Reads the signer's copy of a presented document, or None; called only when the copy could spare canonicalising.
KeptCopy = Callable[[], SignedCopy | None]
# What was signed for presented texts found to be a kept copy, by the SHA-256 of their JSON text, so a text verified
# again is not read again: what was signed for a document is a function of its text, as its canonical form is.
_MATCHED: LRUCache = LRUCache(maxsize=CANONICAL_FORMS_KEPT)
_MATCHED_LOCK = threading.Lock()


def hash_data(unsecured: dict, proof_config: dict, loader: ShippedContextLoader | None = None) -> HashData:
    """Canonicalise and hash a document and its proof configuration (which carries the document's @context)."""
    return _hashed(canonicalize(proof_config, loader), canonicalize(unsecured, loader))


def _hashed(canonical_config: str, canonical_document: str) -> HashData:
    return HashData(
        canonical_proof_config=canonical_config,
        canonical_document=canonical_document,
        proof_config_hash=hashlib.sha256(canonical_config.encode("utf-8")).digest(),
        document_hash=hashlib.sha256(canonical_document.encode("utf-8")).digest(),
    )


def proof_options(verification_method: str, created: str, purpose: str = "assertionMethod") -> dict:
    """The proof options of a new eddsa-rdfc-2022 proof."""
    return {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": purpose,
    }


def add_proof(
    unsecured: dict, options: dict, private_key: Ed25519PrivateKey, loader: ShippedContextLoader | None = None
) -> dict:
    """A copy of `unsecured` with a DataIntegrityProof made with `private_key`."""
    return sign(unsecured, options, private_key, loader).document


def sign(
    unsecured: dict, options: dict, private_key: Ed25519PrivateKey, loader: ShippedContextLoader | None = None
) -> SignedCopy:
    """`add_proof`, keeping what was signed (for `prepare_verification` of a copy of it)."""
    if "proof" in unsecured:
        raise ProofError("the document already carries a proof")
    config = {**options, "@context": unsecured["@context"]}
    data = hash_data(unsecured, config, loader)
    proof = {**options, "proofValue": multibase_base58btc(private_key.sign(data.combined))}
    return SignedCopy({**unsecured, "proof": proof}, data.combined)


def split_proof(secured: dict) -> tuple[dict, dict]:
    """The unsecured document and its single proof; ProofError when the proof is missing or not ours."""
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise ProofError("the document carries no single proof object")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"the proof is not a {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}")
    unsecured = {key: value for key, value in secured.items() if key != "proof"}
    return unsecured, proof


def prepare_verification(
    secured: dict, loader: ShippedContextLoader | None = None, kept: KeptCopy | None = None
) -> tuple[dict, HashData | SignedCopy]:
    """The proof of `secured` and what its signature must cover (its `combined`): from the canonical forms the loader
    remembers; else, when `kept` (reading the signer's copy of the document) gives the same JSON, its signed bytes;
    else canonicalised strictly."""
    unsecured, proof = split_proof(secured)
    config = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in config and config["@context"] != unsecured.get("@context"):
        raise ProofError("the proof's @context differs from the document's")
    config["@context"] = unsecured.get("@context")
    known = remembered(config, loader), remembered(unsecured, loader)
    if None not in known:
        return proof, _hashed(*known)
    matched = _matched_copy(secured, kept) if kept is not None else None
    return proof, matched or hash_data(unsecured, config, loader)


def _matched_copy(secured: dict, kept: KeptCopy) -> SignedCopy | None:
    """`secured` with what was signed for it, when it is the same JSON as the signer's copy (read by `kept` unless this
    text matched before); None otherwise."""
    digest = text_digest(secured)
    with _MATCHED_LOCK:
        combined = _MATCHED.get(digest) if digest else None
    if combined is not None:
        return SignedCopy(secured, combined)
    copy = kept()
    if copy is None or copy.combined is None or not same_json(secured, copy.document):
        return None
    if digest:
        with _MATCHED_LOCK:
            _MATCHED[digest] = copy.combined
    return copy


def verify_signature(public_key: Ed25519PublicKey, proof: dict, data: HashData | SignedCopy) -> None:
    """Raise ProofError unless proofValue is the Ed25519 signature of `data.combined` by `public_key`."""
    signature = decode_multibase_base58btc(proof.get("proofValue"))
    if len(signature) != 64:
        raise ProofError("proofValue is not a 64-byte Ed25519 signature")
    try:
        public_key.verify(signature, data.combined)
    except InvalidSignature:
        raise ProofError("the signature does not match the credential") from None


def verify_proof(secured: dict, public_key: Ed25519PublicKey, loader: ShippedContextLoader | None = None) -> None:
    """Raise ProofError unless the eddsa-rdfc-2022 proof of `secured` verifies with `public_key`."""
    proof, data = prepare_verification(secured, loader)
    verify_signature(public_key, proof, data)
