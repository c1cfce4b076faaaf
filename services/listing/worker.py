"""The listing worker: counts seats and payment disputes from application events, closes listings at their deadline,
relays events.

Run as `python -m services.listing.worker`.
"""

from __future__ import annotations

from pymongo.database import Database

from services.listing import handlers, store
from shared.config import load_settings
from shared.worker import run_worker

# The services whose topics this worker reads.
CONSUMES = ["application"]

# Each handler(db, event): run_worker binds them to the service's database.
HANDLERS = {
    "stint.application.accepted.v1": handlers.count_accepted_seat,
    "stint.application.withdrawn.v1": handlers.release_seat,
    "stint.application.rejected.v1": handlers.release_seat,
    "stint.payment.disputed.v1": handlers.open_payment_dispute,
    "stint.payment.recorded.v1": handlers.settle_payment_dispute,
    "stint.payment.confirmed.v1": handlers.settle_payment_dispute,
}
# How often the deadline job looks for published listings past their apply_by.
DEADLINE_CHECK_SECONDS = 30


def prepare(db: Database) -> None:
    """Before consuming: the indexes, and listings written with free-text categories moved onto work domains."""
    store.ensure_indexes(db)
    handlers.map_free_text_categories(db)


def main() -> None:
    """Run the consumer, the outbox relay and the deadline job until SIGTERM."""
    run_worker(
        load_settings("listing"),
        handlers=HANDLERS,
        consumes=CONSUMES,
        outbox_collections=store.outbox_collections,
        pointed_outboxes=(store.ORGS, store.LISTINGS, store.INVITATIONS),
        prepare=prepare,
        periodic=[(handlers.close_expired_listings, DEADLINE_CHECK_SECONDS)],
    )


if __name__ == "__main__":
    main()
