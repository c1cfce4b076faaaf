"""The certification worker: issues credentials from work.approved events, re-issues those a revoked key signed
(its own key.revoked event), and relays its outbox.

Run as `python -m services.certification.worker`.
"""

from __future__ import annotations

from pymongo.database import Database

from services.certification import issuing, key_revocation, store
from services.certification.runtime import Runtime
from shared.config import Settings, load_settings
from shared.worker import run_worker

# The services whose topics this worker reads (its own: the re-issue job runs on key.revoked).
CONSUMES = ["application", "certification"]

# Each handler(runtime, event): run_worker binds them to the runtime `ready_runtime` makes.
HANDLERS = {
    "stint.work.approved.v1": issuing.issue_credential,
    "stint.key.revoked.v1": key_revocation.reissue_signed_with_revoked_key,
}
# Approvals waiting side by side in a partition are issued a run at a time (one insert per collection for the run).
BATCHED = frozenset({"stint.work.approved.v1"})


def ready_runtime(settings: Settings, db: Database) -> Runtime:
    """The runtime the handlers act on, with a signing key ready before the first event."""
    runtime = Runtime.create(settings, db)
    runtime.keyring.current()
    return runtime


def main() -> None:
    """Consume the application and certification topics; relay this service's outbox."""
    run_worker(
        load_settings("certification"),
        handlers=HANDLERS,
        consumes=CONSUMES,
        outbox_collections=store.outbox_collections,
        pointed_outboxes=store.POINTED_OUTBOXES,
        prepare=store.ensure_indexes,
        acts_on=ready_runtime,
        batch_handler=issuing.issue_credentials,
        batched_types=BATCHED,
    )


if __name__ == "__main__":
    main()
