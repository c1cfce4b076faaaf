"""Verifying, the use cases: one presented credential, a batch, and a stored credential for its page, checked against
this service's keys and status lists. The checks themselves (pure): verification_checks.py."""

from __future__ import annotations

from datetime import UTC, datetime

from services.certification import dataintegrity as di
from services.certification import store
from services.certification import verification_checks as checks
from services.certification.issuer import status_list_bits
from services.certification.issuing import credential_record
from services.certification.runtime import Runtime
from services.certification.statuslist import is_set


def verifier_for(runtime: Runtime) -> checks.Verifier:
    """A verifier reading keys and revocation bits from this service's database (bits cached per use)."""
    lists: dict[str, bytes | None] = {}

    def is_revoked(list_id: str, index: int) -> bool | None:
        if list_id not in lists:
            lists[list_id] = status_list_bits(runtime, list_id)
        bits = lists[list_id]
        if bits is None or not 0 <= index < len(bits) * 8:
            return None
        return is_set(bits, index)

    return checks.Verifier(
        runtime.did, runtime.status_list_url(""), runtime.published_key, is_revoked, runtime.key_revoked
    )


def verify_presented(runtime: Runtime, document) -> dict:
    """POST /verify: check a presented credential (one Stint issued, unchanged, against what was signed for it)."""
    return checks.verify(document, verifier_for(runtime), datetime.now(UTC), lambda: _kept_copy(runtime, document))


def _kept_copy(runtime: Runtime, document) -> di.SignedCopy | None:
    """Our copy of the credential a presented document claims to be (by its id), if we issued one."""
    credential_uuid = _claimed_uuid(document)
    return store.signed_copy(runtime.db, credential_uuid) if credential_uuid else None


def _claimed_uuid(document) -> str | None:
    claimed = document.get("id") if isinstance(document, dict) else None
    return store.parse_uuid(claimed) if isinstance(claimed, str) else None


def verify_batch(runtime: Runtime, items: list[dict]) -> list[dict]:
    """POST /verify/batch: one result per item, in order; ids are looked up among issued credentials, and presented
    credentials are checked as `verify_presented` checks them."""
    verifier = verifier_for(runtime)
    now = datetime.now(UTC)
    wanted = [store.parse_uuid(item["id"]) if "id" in item else _claimed_uuid(item["credential"]) for item in items]
    kept = store.signed_copies(runtime.db, [u for u in wanted if u])
    results = []
    for item, credential_uuid in zip(items, wanted, strict=True):
        copy = kept.get(credential_uuid or "")
        if "id" not in item:
            results.append(checks.verify(item["credential"], verifier, now, lambda copy=copy: copy))
        elif copy is None:
            results.append(checks.unknown_credential(item["id"]))
        else:
            results.append(checks.verify(copy.document, verifier, now, lambda copy=copy: copy))
    return results


def verification_of(runtime: Runtime, credential_id: str) -> tuple[dict, dict, dict]:
    """The stored record, the signed credential and its verification (for the page, the PDF, GET /verify/{id})."""
    record = credential_record(runtime, credential_id)
    kept = store.signed_copy(runtime.db, record["_id"])
    now = datetime.now(UTC)
    return record, kept.document, checks.verify(kept.document, verifier_for(runtime), now, lambda: kept)
