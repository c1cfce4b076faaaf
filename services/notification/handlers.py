"""Use cases: turning events into inbox entries and queued deliveries, and what the HTTP API does."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from pymongo.database import Database

from services.notification import domain, outbound, store
from services.notification.domain import EMAIL, IN_APP, WEBHOOK, Addressee
from services.notification.endpoints import UnsafeUrl, check_url
from services.notification.messages import render_email
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import Event

MAX_WEBHOOKS_PER_ORG = 20


# ---- consumer handlers ----------------------------------------------------------------
# Each takes the event typed (shared.events.Event). Who is told is decided on its typed data; what they are told is
# rendered from its data as sent (the envelope), which is also what webhooks receive.


def on_org_event(db: Database, event: Event) -> dict:
    """Remember the organisation or university (name, contact email), then tell whoever the event concerns.
    Read models keep the newest state by the event's time."""
    _keep_org(db, event)
    return fan_out(db, event)


def on_application_event(db: Database, event: Event) -> dict:
    """Remember who applied to which listing, then tell whoever the event concerns. Topics are read side by side,
    so a listing's closing can arrive before an application to it: an applicant still waiting then hears of the
    closing now (the same message ids, so nobody hears it twice)."""
    _keep_application(db, event)
    counts = fan_out(db, event)
    told = _tell_of_closing(db, event)
    counts[IN_APP], counts[EMAIL] = counts[IN_APP] + told[0], counts[EMAIL] + told[1]
    return counts


def on_listing_closed(db: Database, event: Event) -> dict:
    """Remember the closing (for applicants heard of later), then tell the applicants waiting."""
    store.remember_closed_listing(db, event)
    return fan_out(db, event)


def on_event(db: Database, event: Event) -> dict:
    """Tell whoever the event concerns."""
    return fan_out(db, event)


def _keep_org(db: Database, event: Event) -> None:
    org = event.data
    store.remember_org(db, org.org_id, org.name, org.status, org.contact_email, event.time)


def _keep_application(db: Database, event: Event) -> None:
    app = event.data
    student = dataclasses.asdict(app.student)
    store.remember_application(db, app.application_id, app.listing_id, student, app.status, event.time)


def _tell_of_closing(db: Database, event: Event) -> tuple[int, int]:
    """An application to a listing that closed already: its student, if still waiting, hears of the closing."""
    app = event.data
    closing = store.closing_of(db, app.listing_id)
    if closing is None or not domain.hears_of_closing(
        app.application_id, app.status, closing.data.accepted_applications
    ):
        return 0, 0
    route = domain.ROUTES[closing.type]
    return _tell_people(db, closing, route, datetime.now(UTC), [_student(dataclasses.asdict(app.student))])


# Each handler's steps around telling people: what it keeps first, and what it does after. A run of events goes
# through the same steps (on_events).
_STEPS = {
    on_org_event: (_keep_org, None),
    on_application_event: (_keep_application, _tell_of_closing),
    on_listing_closed: (store.remember_closed_listing, None),
    on_event: (None, None),
}


def batch_handler(handlers: dict) -> Callable[[Database, list[Event]], list[dict]]:
    """The batch handler for a dispatch table of the handlers above (the worker's HANDLERS): a run of events is
    handled as each one's handler would handle it, people being told for the whole run at once (on_events)."""
    unknown = sorted(handler.__name__ for handler in handlers.values() if handler not in _STEPS)
    if unknown:
        raise ValueError(f"no batch steps for {unknown}")

    def handle(db: Database, events: list[Event]) -> list[dict]:
        return on_events(db, events, [_STEPS[handlers[event.type]] for event in events])

    return handle


def on_events(db: Database, events: list[Event], steps: list[tuple]) -> list[dict]:
    """Tell whoever each event concerns, for a run of events at once (the worker's batch handler, shared.consumer).
    Each event's read model is kept first, in order (`steps`: its handler's, see _STEPS); then one change per
    recipient's inbox index and one insert per collection for the whole run, instead of each per event. Each
    event's effect is how many messages it made (a redelivered event's are stored already, and not twice)."""
    for event, (keep, _after) in zip(events, steps, strict=True):
        if keep is not None:
            keep(db, event)
    inbox, emails, calls = _messages(_Reads(db), events, datetime.now(UTC))
    store.add_to_inbox(db, inbox)
    _queue_emails(db, emails)
    store.queue_webhook_calls(db, calls)
    made = Counter((message["event_id"], message["channel"]) for message in [*inbox, *emails, *calls])
    effects = [{channel: made[event.id, channel] for channel in (IN_APP, EMAIL, WEBHOOK)} for event in events]
    for event, (_keep, after), effect in zip(events, steps, effects, strict=True):
        if after is not None:
            told = after(db, event)
            effect[IN_APP], effect[EMAIL] = effect[IN_APP] + told[0], effect[EMAIL] + told[1]
    return effects


def _queue_emails(db: Database, emails: list[dict]) -> int:
    """Queue emails; how many were new. In the worker, whose sender sends the emails it queues (outbound:
    EmailSender.send_own), the new ones are claimed for that sender as they are queued (due to other senders only
    once the claim has run out) and handed to it: it sends them on its next round with no lease or read of its own."""
    sender = outbound.own_sender(db)
    if sender is None:
        return store.queue_emails(db, emails)
    new = store.queue_claimed_emails(db, emails, sender.claimed_until())
    sender.hand_over(new)
    return len(new)


def fan_out(db: Database, event: Event) -> dict:
    """Write inbox entries and queue emails and webhook calls; how many of each were new (a redelivered event adds
    nothing)."""
    inbox, emails, calls = _messages(_Reads(db), [event], datetime.now(UTC))
    return {
        IN_APP: store.add_to_inbox(db, inbox),
        EMAIL: _queue_emails(db, emails),
        WEBHOOK: store.queue_webhook_calls(db, calls),
    }


class _Reads:
    """What telling people reads, each read once for an event or a run of them: organisations, users' preferences,
    an organisation's webhooks for a type."""

    def __init__(self, db: Database):
        self.db = db
        self._orgs: dict[str, dict | None] = {}
        self._preferences: dict[str, dict | None] = {}
        self._webhooks: dict[tuple[str, str], list[dict]] = {}

    def org(self, org_id: str) -> dict | None:
        if org_id not in self._orgs:
            self._orgs[org_id] = store.find_org(self.db, org_id)
        return self._orgs[org_id]

    def preferences(self, subs: list[str]) -> dict[str, dict]:
        missing = [sub for sub in dict.fromkeys(subs) if sub not in self._preferences]
        found = store.preferences_of(self.db, missing) if missing else {}
        self._preferences.update({sub: found.get(sub) for sub in missing})
        return {sub: self._preferences[sub] for sub in subs if self._preferences[sub] is not None}

    def webhooks(self, org_id: str, event_type: str) -> list[dict]:
        if (org_id, event_type) not in self._webhooks:
            self._webhooks[org_id, event_type] = store.webhooks_listening(self.db, org_id, event_type)
        return self._webhooks[org_id, event_type]


def _messages(reads: _Reads, events: list[Event], now: datetime) -> tuple[list, list, list]:
    """The inbox entries, emails and webhook calls of events."""
    inbox, emails, calls = [], [], []
    for event in events:
        route = domain.ROUTES.get(event.type)
        if route is not None:
            entries, letters = _messages_for_people(reads, event, route, now)
            inbox += entries
            emails += letters
        calls += _webhook_calls(reads, event, now)
    return inbox, emails, calls


def _tell_people(db: Database, event: Event, route: domain.Route, now: datetime, addressees=None) -> tuple[int, int]:
    """Store the inbox entries and queue the emails of a routed event; how many of each were new."""
    inbox, emails = _messages_for_people(_Reads(db), event, route, now, addressees)
    return store.add_to_inbox(db, inbox), _queue_emails(db, emails)


def _student(person: dict) -> Addressee:
    """A student as the events name them (and the applications read model keeps them)."""
    return Addressee(domain.user_recipient(person["id"]), person.get("name", ""), person.get("email", ""))


def _addressees(reads: _Reads, route: domain.Route, data, org: dict) -> list[Addressee]:
    """The people or organisation a route addresses (`data` the event's typed data), with what we know of how to
    reach them."""
    if route.audience == domain.STUDENT:
        return [_student(dataclasses.asdict(data.student))]
    if route.audience == domain.UNIVERSITY:
        university = reads.org(data.university_id) or {}
        name = university.get("name") or data.university_name
        email = university.get("contact_email") or data.university_contact_email or ""
        return [Addressee(domain.org_recipient(data.university_id), name, email)]
    if route.audience == domain.INVITEE:
        return [Addressee(domain.email_recipient(data.email), "", data.email)]
    if route.audience == domain.ORG:
        # An organisation's own events (registered, verified) carry its name and email; the others only its id.
        email = org.get("contact_email") or getattr(data, "contact_email", "") or ""
        return [Addressee(domain.org_recipient(data.org_id), org.get("name") or getattr(data, "name", ""), email)]
    applications = store.open_applications(reads.db, data.listing_id)
    told = [a for a in applications if domain.hears_of_closing(a["_id"], a["status"], data.accepted_applications)]
    students = {a["student"]["id"]: a["student"] for a in told}
    return [_student(student) for student in students.values()]


def _messages_for_people(
    reads: _Reads, event: Event, route: domain.Route, now: datetime, addressees: list[Addressee] | None = None
) -> tuple[list, list]:
    """Inbox entries and emails for a routed event (to the route's audience, or to `addressees`), honouring each
    user's preferences."""
    data = event.envelope["data"]  # messages say what the event said, as sent
    org = (reads.org(data["org_id"]) if data.get("org_id") else None) or {}
    context = domain.message_context(event.type, data, org_name=org.get("name", ""))
    title = domain.render_line(route.title, context, limit=200)
    summary = domain.render_line(route.summary, context, limit=1000)
    link = context.get(route.link, "") if route.link else ""
    addressees = _addressees(reads, route, event.data, org) if addressees is None else addressees
    if route.copy_admins:
        addressees.append(Addressee(domain.ADMINS_RECIPIENT, "Stint administrators"))
    stored = reads.preferences([a.recipient.removeprefix("user:") for a in addressees if a.is_user])
    inbox, emails = [], []
    for addressee in addressees:
        preferences = domain.Preferences.from_document(stored.get(addressee.recipient.removeprefix("user:")))
        channels = domain.channels_for(addressee, preferences)
        key = {"event_id": event.id, "event_type": event.type, "recipient": addressee.recipient}
        if IN_APP in channels:
            entry_id = domain.notification_id(event.id, addressee.recipient, IN_APP)
            inbox.append(
                {"_id": entry_id, **key, "channel": IN_APP, "title": title, "body": summary, "link": link or None}
                | {"read": False, "read_at": None, "created_at": now}
            )
        if EMAIL in channels:
            email = render_email(route.template, title, summary, link, addressee.name or "there", context)
            emails.append(
                _queued(domain.notification_id(event.id, addressee.recipient, EMAIL), key, EMAIL, now)
                | {"to": addressee.email, "subject": email.subject, "text": email.text, "html": email.html}
            )
    return inbox, emails


def _webhook_calls(reads: _Reads, event: Event, now: datetime) -> list[dict]:
    """One queued call per enabled endpoint of the organisation concerned that subscribed to this type; the body is
    the event as it was sent."""
    org_id = domain.org_concerned(event.type, event.envelope["data"])
    body = json.dumps(event.envelope, separators=(",", ":"), ensure_ascii=False)
    calls = []
    for webhook in reads.webhooks(org_id, event.type) if org_id else []:
        recipient = domain.webhook_recipient(webhook["_id"])
        key = {"event_id": event.id, "event_type": event.type, "recipient": recipient}
        calls.append(
            _queued(domain.notification_id(event.id, recipient, WEBHOOK), key, WEBHOOK, now)
            | {"webhook_id": webhook["_id"], "org_id": org_id, "body": body}
        )
    return calls


def _queued(delivery_id: str, key: dict, channel: str, now: datetime) -> dict:
    """A delivery waiting for the periodic sender (the consumer never sends anything itself)."""
    return {
        "_id": delivery_id,
        **key,
        "channel": channel,
        "status": "pending",
        "attempt_count": 0,
        "attempts": [],
        "next_attempt_at": now,
        "created_at": now,
        "delivered_at": None,
    }


# ---- HTTP use cases -------------------------------------------------------------------


def _known_id(value: str) -> str:
    """Ids are uuids; anything else cannot exist, so it is a 404 rather than a query."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("no such resource", code="not_found") from None


def list_inbox(db: Database, principal: Principal, unread: bool, limit: int, cursor: str | None):
    """The caller's inbox (and their organisation's), newest first."""
    owners = domain.inbox_owners(principal.sub, principal.role, principal.org)
    return store.inbox_page(db, owners, unread, limit, cursor)


def mark_read(db: Database, principal: Principal, entry_id: str) -> dict:
    """Mark one of the caller's inbox entries read; someone else's is not found."""
    owners = domain.inbox_owners(principal.sub, principal.role, principal.org)
    entry = store.mark_read(db, _known_id(entry_id), owners, datetime.now(UTC))
    if entry is None:
        raise NotFound("no such notification", code="notification_not_found")
    return entry


def get_preferences(db: Database, principal: Principal) -> dict:
    """The caller's channel preferences (all on until changed)."""
    stored = store.preferences_of(db, [principal.sub]).get(principal.sub)
    preferences = domain.Preferences.from_document(stored)
    return {**preferences.__dict__, "updated_at": (stored or {}).get("updated_at")}


def set_preferences(db: Database, principal: Principal, values: dict) -> dict:
    """Replace the caller's channel preferences."""
    stored = store.save_preferences(db, principal.sub, values, datetime.now(UTC))
    return {**domain.Preferences.from_document(stored).__dict__, "updated_at": stored["updated_at"]}


def register_webhook(db: Database, principal: Principal, url: str, secret: str, event_types: list, production: bool):
    """Register an endpoint for the caller's organisation; its URL must not reach private networks."""
    try:
        check_url(url, production=production)
    except UnsafeUrl as exc:
        raise Unprocessable(str(exc), code="webhook_url_not_allowed", details={"url": [str(exc)]}) from None
    if store.count_webhooks(db, principal.org) >= MAX_WEBHOOKS_PER_ORG:
        message = f"an organisation can register at most {MAX_WEBHOOKS_PER_ORG} webhooks"
        raise Conflict(message, code="too_many_webhooks")
    webhook = {
        "_id": str(uuid.uuid4()),
        "org_id": principal.org,
        "url": url,
        "secret": secret,
        "secret_hint": domain.mask_secret(secret),
        "event_types": sorted(set(event_types)),
        "enabled": True,
        "disabled_at": None,
        "disabled_reason": None,
        "created_by": principal.sub,
        "created_at": datetime.now(UTC),
    }
    store.insert_webhook(db, webhook)
    return webhook


def list_webhooks(db: Database, principal: Principal, limit: int, cursor: str | None):
    """The caller's organisation's endpoints."""
    return store.webhooks_page(db, principal.org, limit, cursor)


def remove_webhook(db: Database, principal: Principal, webhook_id: str) -> None:
    """Delete one of the organisation's endpoints; nothing more is sent to it."""
    if not store.delete_webhook(db, _known_id(webhook_id), principal.org):
        raise NotFound("no such webhook", code="webhook_not_found")


def list_deliveries(db: Database, principal: Principal, webhook_id: str, limit: int, cursor: str | None):
    """The delivery log of one of the organisation's endpoints."""
    webhook = store.find_webhook(db, _known_id(webhook_id), principal.org)
    if webhook is None:
        raise NotFound("no such webhook", code="webhook_not_found")
    return store.deliveries_page(db, webhook["_id"], limit, cursor)
