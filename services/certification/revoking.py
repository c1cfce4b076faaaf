"""Revoking a credential: an admin revokes one (the bit in its status list first, then the record and its
certificate.revoked event, once). Revoking a compromised signing key, which re-issues what it signed:
key_revocation.py; the status lists themselves: issuer.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from services.certification import store
from services.certification.domain import AlreadyRevoked, check_revocable
from services.certification.issuing import SOURCE, credential_record, event_summary
from services.certification.runtime import Runtime
from shared.events import new_event

log = structlog.get_logger(__name__)


def revoke_credential(runtime: Runtime, credential_uuid: str, reason: str, admin_id: str) -> dict:
    """Set the credential's bit in its status list, mark the record revoked and emit certificate.revoked."""
    record = credential_record(runtime, credential_uuid)
    check_revocable(record)
    # The bit first: if the process dies before the record is updated, the credential already reads as
    # revoked, and repeating the revocation (the bit is idempotent) completes the record and the event.
    store.set_revocation_bit(runtime.db, record["status_list_id"], record["status_index"])
    revoked = new_event(
        "stint.certificate.revoked.v1",
        SOURCE,
        record["credential_id"],
        {**event_summary(record), "reason": reason},
    )
    changes = {"revoked": True, "revoked_at": datetime.now(UTC), "revocation_reason": reason, "revoked_by": admin_id}
    updated = store.mark_credential_revoked(runtime.db, record["_id"], changes, [revoked])
    if updated is None:  # a concurrent revocation won
        raise AlreadyRevoked("the credential was already revoked")
    log.info("credential_revoked", credential_id=record["credential_id"])
    return updated
