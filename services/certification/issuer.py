"""The issuer's public side (the API's issuer endpoints): its DID document and the rotation of its signing key, the
signed Bitstring Status Lists that publish revocations, and the pages of the skills its credentials align to."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from services.certification import dataintegrity as di
from services.certification import endorsements, keys, store
from services.certification.credential import SKILL_FRAMEWORK, skill_url, utc_timestamp
from services.certification.runtime import Runtime
from services.certification.statuslist import bitstring, status_list_credential
from shared.errors import NotFound

# ---- keys ---------------------------------------------------------------------------------


def did_document(runtime: Runtime) -> dict:
    """The issuer's DID document: every current and retired key as a Multikey assertion method (revoked keys are
    left out, so no verifier trusts them)."""
    runtime.keyring.current()  # publish at least one key
    return keys.did_document(runtime.did, store.signing_keys(runtime.db))


def rotate_signing_key(runtime: Runtime) -> dict:
    """Make a new current key, and one for each organisation that endorses; what was signed before stays verifiable."""
    runtime.keyring.current()
    rotated = runtime.keyring.rotate()
    endorsements.rotate_org_keys(runtime)  # organisations' endorsement keys rotate alongside (docs/credentials.md)
    return rotated


# ---- status lists -------------------------------------------------------------------------


def status_list_bits(runtime: Runtime, list_id: str) -> bytes | None:
    """The revocation bitstring of one of our lists (read fresh), or None when there is no such list."""
    revoked = store.revoked_indexes(runtime.db, list_id) if list_id.isalnum() else None
    return None if revoked is None else bitstring(revoked)


def signed_status_list(runtime: Runtime, list_id: str) -> dict:
    """The BitstringStatusListCredential, signed once per change of its bits (or of the key)."""
    record = store.status_list(runtime.db, list_id) if list_id.isalnum() else None
    if record is None:
        raise NotFound("no such status list", code="status_list_not_found")
    bits = bitstring(record.get("revoked") or [])
    digest = hashlib.sha256(bits).hexdigest()
    signing = runtime.keyring.current()
    cached = record.get("signed") or {}
    if cached.get("digest") == digest and cached.get("key_id") == signing.key_id:
        return json.loads(cached["document_json"])
    now = datetime.now(UTC)
    unsigned = status_list_credential(runtime.status_list_url(list_id), runtime.did, now, bits)
    options = di.proof_options(f"{runtime.did}#{signing.key_id}", utc_timestamp(now))
    signed = di.add_proof(unsigned, options, signing.private_key)
    store.cache_signed_status_list(runtime.db, list_id, digest, signing.key_id, json.dumps(signed))
    return signed


# ---- skill pages --------------------------------------------------------------------------


def skill_description(runtime: Runtime, slug: str) -> dict:
    """The public description of a skill that Stint credentials align to."""
    record = store.skill(runtime.db, slug) if len(slug) <= 200 else None
    if record is None:
        raise NotFound("no credential issued by Stint aligns to this skill", code="skill_not_found")
    return {
        "id": skill_url(record["name"], runtime.public_url),
        "type": "Skill",
        "name": record["name"],
        "code": record["_id"],
        "framework": SKILL_FRAMEWORK,
        "description": (
            f"\u201c{record['name']}\u201d, as Stint credentials use it: a skill a micro-internship asked for, "
            "or one the employer saw demonstrated when approving the work."
        ),
    }
