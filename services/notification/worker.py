"""The notification worker: consumes every topic into inbox entries and queued deliveries; sends them periodically.

Run as `python -m services.notification.worker`.
"""

from __future__ import annotations

from services.notification import handlers, store
from services.notification.outbound import EmailSender, WebhookDispatcher
from shared.config import load_settings
from shared.worker import run_worker

# Every handler takes (db, event); run_worker binds them to the service's database.
# All catalog types are consumed: webhooks may subscribe to any of them.
HANDLERS = {
    "stint.org.registered.v1": handlers.on_org_event,
    "stint.org.verified.v1": handlers.on_org_event,
    "stint.org.member_invited.v1": handlers.on_event,
    "stint.listing.published.v1": handlers.on_event,
    "stint.listing.updated.v1": handlers.on_event,
    "stint.listing.closed.v1": handlers.on_listing_closed,
    "stint.application.submitted.v1": handlers.on_application_event,
    "stint.application.shortlisted.v1": handlers.on_application_event,
    "stint.application.accepted.v1": handlers.on_application_event,
    "stint.application.rejected.v1": handlers.on_application_event,
    "stint.application.withdrawn.v1": handlers.on_application_event,
    "stint.work.submitted.v1": handlers.on_event,
    "stint.work.changes_requested.v1": handlers.on_event,
    "stint.work.rejected.v1": handlers.on_event,
    "stint.work.approved.v1": handlers.on_event,
    "stint.payment.recorded.v1": handlers.on_event,
    "stint.payment.confirmed.v1": handlers.on_event,
    "stint.payment.disputed.v1": handlers.on_event,
    "stint.certificate.issued.v1": handlers.on_event,
    "stint.certificate.revoked.v1": handlers.on_event,
    "stint.certificate.credit_decided.v1": handlers.on_event,
    "stint.certificate.reissued.v1": handlers.on_event,
    "stint.endorsement.issued.v1": handlers.on_event,
    # A university is an organisation to the notification service: its name and registrar's email are kept.
    "stint.university.registered.v1": handlers.on_org_event,
    "stint.university.verified.v1": handlers.on_org_event,
    "stint.credit.requested.v1": handlers.on_event,
    "stint.key.revoked.v1": handlers.on_event,
}
CONSUMES = ["listing", "application", "certification"]
# Neighbouring events are handled a poll's run at a time (each as its handler would, people told for the run at
# once: handlers.on_events), so a busy pipeline writes each inbox index once per run, not once per event.
BATCHED = frozenset(HANDLERS)


def main() -> None:
    """Run the consumer and the periodic email and webhook senders until signalled."""
    settings = load_settings("notification")
    emails = EmailSender(settings)
    dispatcher = WebhookDispatcher(settings)

    def prepare(db) -> None:
        store.ensure_indexes(db)
        emails.send_own(db)  # the emails this worker queues go to its own sender, claimed as they are queued

    try:
        run_worker(
            settings,
            handlers=HANDLERS,
            consumes=CONSUMES,  # and publishes no events: no outbox to relay
            prepare=prepare,
            periodic=[(emails.send_due_emails, 1), (dispatcher.dispatch_due_webhooks, 1)],
            batch_handler=handlers.batch_handler(HANDLERS),
            batched_types=BATCHED,
        )
    finally:
        dispatcher.close()


if __name__ == "__main__":
    main()
