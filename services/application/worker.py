"""The application worker: builds the listing and credential read models from `stint.listing` and
`stint.certification`, and relays the outbox.

Run as `python -m services.application.worker`.
"""

from __future__ import annotations

import functools

from pymongo.database import Database

from services.application import read_model, store
from shared.config import load_settings
from shared.mongo import connect
from shared.worker import run_worker

# Every handler takes (db, event); `handlers_for` binds them to the service's database.
# The services whose topics this worker reads.
CONSUMES = ["listing", "certification"]

HANDLERS = {
    "stint.listing.published.v1": read_model.record_listing,
    "stint.listing.updated.v1": read_model.record_listing,
    "stint.listing.closed.v1": read_model.record_listing,
    "stint.org.registered.v1": read_model.record_org,
    "stint.org.verified.v1": read_model.record_org,
    "stint.certificate.issued.v1": read_model.record_issued_credential,
    "stint.certificate.revoked.v1": read_model.record_revoked_credential,
    "stint.certificate.reissued.v1": read_model.record_reissued_credential,
}


def handlers_for(db: Database) -> dict:
    """The consumer's dispatch table: event type -> handler(event), writing to `db`."""
    return {event_type: functools.partial(handler, db) for event_type, handler in HANDLERS.items()}


def main() -> None:
    """Consume listing and credential events into the read models and publish this service's outbox until SIGTERM."""
    settings = load_settings("application")
    run_worker(
        settings,
        handlers=handlers_for(connect(settings)),
        consumes=CONSUMES,
        outbox_collections=lambda db: [db[store.APPLICATIONS]],
        pointed_outboxes=(store.APPLICATIONS,),
        prepare=store.ensure_indexes,
    )


if __name__ == "__main__":
    main()
