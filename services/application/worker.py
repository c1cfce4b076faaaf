"""The application worker: builds the listing and credential read models from `stint.listing` and
`stint.certification`, and relays the outbox.

Run as `python -m services.application.worker`.
"""

from __future__ import annotations

from services.application import read_model, store
from shared.config import load_settings
from shared.worker import run_worker

# The services whose topics this worker reads.
CONSUMES = ["listing", "certification"]

# Each handler(db, event): run_worker binds them to the service's database.
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


def main() -> None:
    """Consume listing and credential events into the read models and publish this service's outbox until SIGTERM."""
    run_worker(
        load_settings("application"),
        handlers=HANDLERS,
        consumes=CONSUMES,
        outbox_collections=lambda db: [db[store.APPLICATIONS]],
        pointed_outboxes=(store.APPLICATIONS,),
        prepare=store.ensure_indexes,
    )


if __name__ == "__main__":
    main()
