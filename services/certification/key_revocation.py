"""A compromised signing key: the admin revokes it, and the worker re-issues what it signed, resumably.

The re-issue is a job the certification worker runs on its own stint.key.revoked.v1 event. Each affected
credential has one record in `reissues` (keyed by the old credential's uuid, holding the successor's uuid chosen on
the first attempt), so a worker that dies midway and the redelivered event pick up where it stopped: a successor is
inserted once under its uuid (its certificate.reissued event rides in that insert, so each student is told once),
then the old credential is revoked with the reason "re-issued".
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from pymongo.errors import DuplicateKeyError

from services.certification import dataintegrity as di
from services.certification import store
from services.certification.credential import StatusEntry, utc_timestamp
from services.certification.domain import REISSUED, KeyIsCurrent
from services.certification.issuing import ISSUE_ATTEMPTS, SOURCE, open_status_list
from services.certification.keys import CURRENT_KEY_TTL_SECONDS
from services.certification.runtime import Runtime
from services.certification.statuslist import random_index
from shared.errors import Conflict, NotFound
from shared.events import Event, new_event
from shared.locks import DocumentBusy, release_lease
from shared.outbox import new_document_with_events

log = structlog.get_logger(__name__)
# A process keeps signing with the key it last read for CURRENT_KEY_TTL_SECONDS: a key retired more recently may
# still be signing somewhere, and what it signs after the job's scan would be missed.
RETIRED_GRACE_SECONDS = CURRENT_KEY_TTL_SECONDS + 1
# Re-issuing one credential takes well under a second; a lease this old belongs to a worker that died.
REISSUE_LEASE_SECONDS = 20
REISSUED_BY = "stint:key-revocation"
REISSUE_REASON = "the key that signed it was revoked as compromised"


def revoke_key(runtime: Runtime, key_id: str, reason: str, admin_id: str) -> dict:
    """Distrust a retired key (the current one must be rotated out first); announce it so the worker re-issues."""
    record = store.signing_key(runtime.db, key_id) if len(key_id) <= 100 else None
    if record is None:
        raise NotFound(f"no signing key {key_id!r}", code="key_not_found")
    if record["status"] == "revoked":
        return record  # revoking again changes nothing
    if record["status"] == "current":
        raise KeyIsCurrent(
            f"{key_id} signs credentials now: rotate first (POST /keys/rotate), then revoke it", details={"key": key_id}
        )
    retired_for = (datetime.now(UTC) - record["retired_at"].replace(tzinfo=UTC)).total_seconds()
    if retired_for < RETIRED_GRACE_SECONDS:
        raise Conflict(
            f"{key_id} was current {retired_for:.0f} s ago and may still be signing; retry in a few seconds",
            code="key_recently_current",
            details={"retry_after_seconds": int(RETIRED_GRACE_SECONDS - retired_for) + 1},
        )
    now = datetime.now(UTC)
    changes = {"status": "revoked", "revoked_at": now, "revoked_by": admin_id, "revocation_reason": reason}
    event = new_event(
        "stint.key.revoked.v1",
        SOURCE,
        key_id,
        {"key_id": key_id, "reason": reason, "revoked_by": admin_id, "revoked_at": now},
    )
    revoked = store.mark_key_revoked(runtime.db, key_id, changes, [event])
    runtime.forget_keys()
    if revoked is None:  # a concurrent revocation won
        return store.signing_key(runtime.db, key_id)
    log.warning("signing_key_revoked", key_id=key_id, admin=admin_id)
    return revoked


def reissue_signed_with_revoked_key(
    runtime: Runtime, event: Event, after_each: Callable[[dict], None] | None = None
) -> dict:
    """stint.key.revoked.v1 → every credential the key signed, not revoked for another reason, is re-issued under
    the current key (resumable: a replay re-issues nothing twice). `after_each` is called after each credential."""
    key_id = event.data.key_id
    reissued = skipped = 0
    for record in store.credentials_signed_with(runtime.db, key_id):
        if record.get("revoked") and not record.get("superseded_by"):
            skipped += 1  # revoked by an admin for its own reason: nothing to replace
            continue
        if _reissue(runtime, record, key_id, event.traceparent):
            reissued += 1
        if after_each is not None:
            after_each(record)
    log.info("reissue_job_done", key_id=key_id, reissued=reissued, skipped=skipped)
    return {"key_id": key_id, "reissued": reissued, "skipped_revoked": skipped}


def _reissue(runtime: Runtime, record: dict, key_id: str, traceparent: str | None) -> bool:
    """Re-issue one credential (each step idempotent); False when an earlier run already finished it."""
    now = datetime.now(UTC)
    claim = store.claim_reissue(runtime.db, record["_id"], key_id, str(uuid.uuid4()), now)
    if claim.get("state") == "done":
        return False
    lease = store.take_reissue_lease(runtime.db, record["_id"], REISSUE_LEASE_SECONDS)
    if lease is None:  # the consumer treats this as "try the event again later", never as a dead letter
        raise DocumentBusy(f"another worker is re-issuing {record['credential_id']}")
    try:
        successor_uuid = claim["successor_uuid"]
        if store.credential_by_id(runtime.db, successor_uuid) is None:
            _issue_successor(runtime, record, successor_uuid, traceparent)
        _retire_predecessor(runtime, record, successor_uuid)
        store.finish_reissue(runtime.db, record["_id"], datetime.now(UTC))
    finally:
        release_lease(lease)
    log.info("credential_reissued", credential_id=record["credential_id"], successor=successor_uuid)
    return True


def _issue_successor(runtime: Runtime, old: dict, successor_uuid: str, traceparent: str | None) -> None:
    """Sign the old credential's achievement again under the current key, with a new id and status bit."""
    original = store.signed_document(runtime.db, old["_id"])
    for _ in range(ISSUE_ATTEMPTS):
        signed, document = _successor(runtime, old, original, successor_uuid, traceparent)
        store.forget_signed_document(runtime.db, successor_uuid)  # what a run that died before its insert left
        store.save_signed_document(runtime.db, successor_uuid, signed)
        store.list_student_credential(runtime.db, document)
        try:
            store.insert_credential(runtime.db, document)
            return
        except DuplicateKeyError:
            if store.credential_by_id(runtime.db, successor_uuid) is not None:
                return
            store.unlist_student_credential(runtime.db, document)
            store.forget_signed_document(runtime.db, successor_uuid)  # the random status bit was taken: draw again
    raise RuntimeError("no free status list position found")


def _successor(
    runtime: Runtime, old: dict, original: dict, successor_uuid: str, traceparent
) -> tuple[di.SignedCopy, dict]:
    """The signed successor credential and its record (carrying certificate.reissued)."""
    list_id, index = open_status_list(runtime), random_index()
    signing = runtime.keyring.current()
    now = datetime.now(UTC).replace(microsecond=0)
    unsigned = {key: copy.deepcopy(value) for key, value in original.items() if key != "proof"}
    unsigned["id"] = f"urn:uuid:{successor_uuid}"
    unsigned["validFrom"] = utc_timestamp(now)
    unsigned["credentialStatus"] = StatusEntry(runtime.status_list_url(list_id), index).as_json()
    if isinstance(unsigned.get("issuer"), dict):
        unsigned["issuer"]["id"] = runtime.did
    options = di.proof_options(f"{runtime.did}#{signing.key_id}", utc_timestamp(now))
    signed = di.sign(unsigned, options, signing.private_key)
    kept = ("application_id", "student", "org_id", "listing_title", "listing_id", "org_name", "hours")
    summary = {
        **{field: old[field] for field in kept if field in old},
        "credential_id": f"urn:uuid:{successor_uuid}",
        "verification_url": runtime.verification_url(successor_uuid),
    }
    event = new_event(
        "stint.certificate.reissued.v1",
        SOURCE,
        summary["credential_id"],
        {
            **{field: summary.get(field, "") for field in ("credential_id", "application_id", "org_id")},
            "student": old["student"],
            "listing_title": old.get("listing_title", ""),
            "verification_url": summary["verification_url"],
            "hours": old["hours"],
            "credits_recommended": old["credits_recommended"],
            "reissue_of": old["credential_id"],
            "reason": REISSUE_REASON,
        },
        traceparent=traceparent,
    )
    document = {
        "_id": successor_uuid,
        **summary,
        "credits_recommended": old["credits_recommended"],
        "started_on": old["started_on"],
        "completed_on": old["completed_on"],
        "issued_at": now,
        "key_id": signing.key_id,
        "status_list_id": list_id,
        "status_index": index,
        "revoked": False,
        "reissue_of": old["_id"],
    }
    return signed, new_document_with_events(document, [event])


def _retire_predecessor(runtime: Runtime, old: dict, successor_uuid: str) -> None:
    """Revoke the old credential with the reason "re-issued" and link it to its successor (no event: the student
    hears once, of the successor)."""
    store.set_revocation_bit(runtime.db, old["status_list_id"], old["status_index"])
    changes = {
        "revoked": True,
        "revoked_at": datetime.now(UTC),
        "revocation_reason": REISSUED,
        "revoked_by": REISSUED_BY,
        "superseded_by": successor_uuid,
    }
    store.mark_credential_revoked(runtime.db, old["_id"], changes, [])
