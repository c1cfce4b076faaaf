"""The certification worker: issues credentials from work.approved events, re-issues those a revoked key signed
(its own key.revoked event), and relays its outbox.

Run as `python -m services.certification.worker`.
"""

from __future__ import annotations

import functools

from pymongo.database import Database

from services.certification import handlers, key_revocation, store
from services.certification.runtime import Runtime
from shared.config import Settings, load_settings
from shared.worker import run_worker

# The services whose topics this worker reads (its own: the re-issue job runs on key.revoked).
CONSUMES = ["application", "certification"]

HANDLERS = {
    "stint.work.approved.v1": handlers.issue_credential,
    "stint.key.revoked.v1": key_revocation.reissue_signed_with_revoked_key,
}


def bound_handlers(runtime: Runtime) -> dict:
    """HANDLERS with the runtime they act on, as the consumer calls handler(event)."""
    return {event_type: functools.partial(handler, runtime) for event_type, handler in HANDLERS.items()}


class WorkerRuntime:
    """Lets the handlers be bound before run_worker connects; `prepare` supplies the database."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.runtime: Runtime | None = None

    def prepare(self, db: Database) -> None:
        """Indexes, the runtime, and a signing key ready before the first event."""
        store.ensure_indexes(db)
        self.runtime = Runtime.create(self.settings, db)
        self.runtime.keyring.current()

    def handlers(self) -> dict:
        """HANDLERS, each calling its use case with the prepared runtime."""
        return {event_type: self._call(handler) for event_type, handler in HANDLERS.items()}

    def _call(self, handler):
        def call(event: dict):
            return handler(self.runtime, event)

        call.__name__ = handler.__name__
        return call


def main() -> None:
    """Consume the application and certification topics; relay this service's outbox."""
    settings = load_settings("certification")
    late = WorkerRuntime(settings)
    run_worker(
        settings,
        handlers=late.handlers(),
        consumes=CONSUMES,
        outbox_collections=store.outbox_collections,
        pointed_outboxes=store.POINTED_OUTBOXES,
        prepare=late.prepare,
    )


if __name__ == "__main__":
    main()
