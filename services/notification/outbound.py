"""The periodic senders: queued emails over SMTP, and webhook calls with retries, off the consumer's loop."""

from __future__ import annotations

import collections
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import structlog
from pymongo.database import Database

from services.notification import domain, store
from services.notification.endpoints import call_endpoint
from services.notification.mailer import DEFAULT_SENDER, build_message, open_smtp
from shared.config import Settings

log = structlog.get_logger(__name__)
EMAIL_BATCH = 50
# Emails claimed with one lease insert and settled with one delete: a sender that dies holds these up for the lease,
# so the lease is short; a sender starts no new email once a third of it is gone (the rest are given back, due), so
# the one in hand (SMTP_STEPS socket operations, each within the SMTP timeout) still ends inside it.
CLAIMED_TOGETHER = 10
EMAIL_LEASE_SECONDS = 60
SMTP_STEPS = 4  # MAIL FROM, RCPT TO, DATA, the message
# The senders that send the emails their own process's consumer queues (EmailSender.send_own), by database name.
_OWN_SENDERS: dict[str, EmailSender] = {}


def own_sender(db: Database) -> EmailSender | None:
    """The sender that sends the emails this process queues in `db` (EmailSender.send_own), if any."""
    return _OWN_SENDERS.get(db.name) if _OWN_SENDERS else None


class EmailSender:
    """Sends due emails from the delivery queue over SMTP, retrying failures with backoff."""

    def __init__(self, settings: Settings, policy: domain.DeliveryPolicy | None = None):
        self.smtp_url = settings.smtp_url
        self.sender = settings.extra.get("STINT_MAIL_FROM", DEFAULT_SENDER)
        self.policy = policy or domain.DeliveryPolicy.from_settings(settings.extra)
        self.smtp_timeout = self.policy.timeout_seconds * 2  # each socket operation of an SMTP exchange
        # The last email starts within a third of the lease and takes at most SMTP_STEPS timeouts: both fit in it.
        self.lease_seconds = max(EMAIL_LEASE_SECONDS, 1.5 * SMTP_STEPS * self.smtp_timeout)
        self._warned = False
        # Emails this process's consumer queued and claimed for this sender (hand_over), with when.
        self._handed: collections.deque[tuple[dict, float]] = collections.deque()

    def send_own(self, db: Database, own: bool = True) -> None:
        """Send the emails this process's consumer queues in `db` on the next round, claimed for this sender as they
        are queued (handlers: own_sender, hand_over), rather than finding them due and claiming them then (own=False:
        stop)."""
        if own and self.smtp_url:
            _OWN_SENDERS[db.name] = self
        elif _OWN_SENDERS.get(db.name) is self:
            del _OWN_SENDERS[db.name]

    def claimed_until(self) -> datetime:
        """Until when an email handed over now is this sender's alone: due to the others only from then."""
        return datetime.now(UTC) + timedelta(seconds=self.lease_seconds)

    def hand_over(self, emails: list[dict]) -> None:
        """Emails just queued, due to the others only from `claimed_until()`; sent on this sender's next round."""
        now = time.monotonic()
        self._handed.extend((email, now) for email in emails)

    def send_due_emails(self, db: Database) -> int:
        """Send the emails handed over and those due now; return how many went out."""
        if not self.smtp_url:
            if not self._warned:
                log.warning("smtp_not_configured", hint="set STINT_SMTP_URL; emails stay queued")
                self._warned = True
            return 0
        handed = [self._handed.popleft() for _ in range(len(self._handed))]
        due = store.due_deliveries(db[store.EMAILS], datetime.now(UTC), EMAIL_BATCH)
        if not due and not handed:
            return 0
        try:
            smtp = open_smtp(self.smtp_url, timeout=self.smtp_timeout)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            error = f"SMTP server unreachable: {exc!r}"[:300]
            return self._attempt_all(db, handed, due, lambda email: error)
        with smtp:
            return self._attempt_all(db, handed, due, lambda email: self._send(smtp, email))

    def _attempt_all(self, db: Database, handed: list[tuple[dict, float]], due: list, attempt) -> int:
        """`attempt(email)` (None or the error) on the emails handed over, then on the due ones a claim at a time;
        how many went out."""
        sent = self._attempt_handed(db, handed, attempt)
        for start in range(0, len(due), CLAIMED_TOGETHER):
            sent += self._attempt_together(db, due[start : start + CLAIMED_TOGETHER], attempt)
        return sent

    def _attempt_handed(self, db: Database, handed: list[tuple[dict, float]], attempt) -> int:
        """Make `attempt(email)` on each email handed over, as queued (new: nobody else has seen it), log it at once,
        then settle their due marks together; how many went out. One whose claim is a third gone is left to run
        out: any sender then finds it due, and the one in hand still ends within the claim."""
        sent, next_attempts = 0, {}
        try:
            for email, handed_at in handed:
                if time.monotonic() - handed_at > self.lease_seconds / 3:
                    continue
                error = attempt(email)
                sent += error is None
                next_attempts[email["_id"]] = self._record(db, email, error)
        finally:
            store.settle_due(db[store.EMAILS], next_attempts)
        return sent

    def _attempt_together(self, db: Database, due: list, attempt) -> int:
        """Claim a few due emails together (one lease insert), make `attempt(email)` (None or the error) on each and
        log it at once (a sender that dies sends at most the one in hand twice), then settle their due entries and
        leases together; how many went out. A sender that dies holds up at most these few for the lease's time; one
        that is slow (a slow SMTP server) stops before its lease runs out, so no other sender takes an email over
        while it is being sent."""
        claimed_at = time.monotonic()
        emails, leases = store.claim_together(db[store.EMAILS], due, datetime.now(UTC), self.lease_seconds)
        sent, next_attempts = 0, {}
        try:
            for email in emails:
                if next_attempts and time.monotonic() - claimed_at > self.lease_seconds / 3:
                    break  # the rest stay due and their leases are given back below: another round sends them
                error = attempt(email)
                sent += error is None
                next_attempts[email["_id"]] = self._record(db, email, error)
        finally:
            store.settle_together(db[store.EMAILS], next_attempts, leases)
        return sent

    def _record(self, db: Database, email: dict, error: str | None):
        """Log an attempt on the email; the time of the next one when it is to be tried again (None: sent or given
        up)."""
        now = datetime.now(UTC)
        attempt = {"number": email["attempt_count"] + 1, "at": now, "status_code": None, "error": error}
        next_at = None if error is None else self.policy.next_attempt_at(attempt["number"], now)
        status = "delivered" if error is None else ("pending" if next_at else "failed")
        if error is not None:
            log.warning("email_failed", delivery_id=email["_id"], event_id=email["event_id"], error=error, next=status)
        store.log_attempt(db[store.EMAILS], email, attempt, status, next_at)
        return next_at

    def _send(self, smtp: smtplib.SMTP, email: dict) -> str | None:
        """Send one email; None when the server took it, else the error."""
        try:
            smtp.send_message(
                build_message(self.sender, email["to"], email["subject"], email["text"], email["html"], email["_id"])
            )
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            return repr(exc)[:300]
        log.info("email_sent", event_id=email["event_id"], delivery_id=email["_id"], recipient=email["recipient"])
        return None


class WebhookDispatcher:
    """Claims due webhook calls and sends them on a bounded thread pool, so one slow endpoint holds up no other."""

    def __init__(self, settings: Settings, policy: domain.DeliveryPolicy | None = None):
        self.policy = policy or domain.DeliveryPolicy.from_settings(settings.extra)
        self.production = settings.env == "production"
        self._pool = ThreadPoolExecutor(max_workers=self.policy.concurrency, thread_name_prefix="webhook")
        self._in_flight = 0
        self._lock = threading.Lock()
        # A claimed call is always on a thread, so its lease only has to outlast one call.
        self._lease_seconds = self.policy.timeout_seconds * 2 + 30

    def dispatch_due_webhooks(self, db: Database) -> int:
        """Start the calls that are due, as many as there are free threads; return without waiting for them."""
        started = 0
        while self._take_slot():
            delivery = store.claim_due(db[store.WEBHOOK_DELIVERIES], datetime.now(UTC), self._lease_seconds)
            if delivery is None:
                self._free_slot()
                break
            self._pool.submit(self._deliver, db, delivery)
            started += 1
        return started

    def idle(self) -> bool:
        """True when no call is in flight."""
        with self._lock:
            return self._in_flight == 0

    def close(self) -> None:
        """Let the calls in flight finish, then stop the threads."""
        self._pool.shutdown(wait=True)

    def _take_slot(self) -> bool:
        with self._lock:
            if self._in_flight >= self.policy.concurrency:
                return False
            self._in_flight += 1
            return True

    def _free_slot(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _deliver(self, db: Database, delivery: dict) -> None:
        try:
            deliver_webhook(db, delivery, self.policy, self.production)
        except Exception as exc:  # the lease expires and the call is retried by a later run
            log.warning("webhook_delivery_crashed", delivery_id=delivery["_id"], error=repr(exc)[:300])
        finally:
            self._free_slot()


def deliver_webhook(db: Database, delivery: dict, policy: domain.DeliveryPolicy, production: bool) -> str:
    """Make one attempt at a webhook call and record it; return the delivery's new status."""
    collection = db[store.WEBHOOK_DELIVERIES]
    webhook = store.find_webhook(db, delivery["webhook_id"])
    if webhook is None or not webhook.get("enabled"):
        store.cancel_delivery(collection, delivery, "endpoint deleted or disabled")
        return "cancelled"
    started_at = datetime.now(UTC)
    result = call_endpoint(
        webhook["url"],
        delivery["body"].encode(),
        webhook["secret"],
        delivery["_id"],
        delivery["event_type"],
        policy.timeout_seconds,
        production,
    )
    number = delivery["attempt_count"] + 1
    attempt = {
        "number": number,
        "at": started_at,
        "status_code": result.status_code,
        "error": result.error,
        "duration_ms": result.duration_ms,
    }
    next_at = None if result.ok else policy.next_attempt_at(number, datetime.now(UTC))
    status = "delivered" if result.ok else ("pending" if next_at else "failed")
    store.record_attempt(collection, delivery, attempt, status, next_at)
    log.info("webhook_attempt", delivery_id=delivery["_id"], event_id=delivery["event_id"], status=status, **attempt)
    if status == "failed":
        disable_endpoint(db, webhook, number)
    return status


def disable_endpoint(db: Database, webhook: dict, failed_attempts: int) -> None:
    """Switch off an endpoint that keeps failing, and tell its organisation in the inbox (once)."""
    reason = f"{failed_attempts} delivery attempts in a row failed"
    now = datetime.now(UTC)
    if store.disable_webhook(db, webhook["_id"], reason, now) is None:
        return  # someone else disabled it (or it was deleted) and told the organisation
    store.cancel_pending_deliveries(db, webhook["_id"], "endpoint disabled")
    recipient = domain.org_recipient(webhook["org_id"])
    key = f"webhook-disabled:{webhook['_id']}:{now.isoformat()}"
    entry = {
        "_id": domain.notification_id(key, recipient, domain.IN_APP),
        "event_id": key,
        "event_type": "stint.notification.webhook_disabled",
        "recipient": recipient,
        "channel": domain.IN_APP,
        "title": "A webhook was disabled",
        "body": f"Stint stopped calling {webhook['url'][:300]}: {reason}. Fix the endpoint and register it again.",
        "link": None,
        "read": False,
        "read_at": None,
        "created_at": now,
    }
    store.add_to_inbox(db, [entry])
    log.warning("webhook_disabled", webhook_id=webhook["_id"], org_id=webhook["org_id"], reason=reason)
