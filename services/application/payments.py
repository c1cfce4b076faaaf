"""Use cases of a stint's payment: the employer records it after approval; the student confirms or disputes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pymongo.database import Database

from services.application import domain, store
from services.application.applications import changing_application, now_utc
from services.application.domain import Actor
from services.application.event_data import payment_event


def record_payment(db: Database, actor: Actor, application_id: str, paid: dict, traceparent: str | None = None):
    """The listing's employer records the stipend paid for approved work (again, to correct it, until confirmed).

    `paid` holds amount, currency (None: the listing's), paid_on and reference.
    """

    def decide(app: dict, now: datetime) -> dict:
        currency = paid.get("currency") or _listing_currency(db, app)
        return domain.recorded_payment(app, {**paid, "currency": currency}, actor, now)

    return _change_payment(db, actor, application_id, decide, traceparent)


def confirm_payment(db: Database, actor: Actor, application_id: str, traceparent: str | None = None) -> dict:
    """The student confirms receiving the recorded payment (settling any dispute they raised)."""
    return _change_payment(db, actor, application_id, lambda app, now: domain.confirmed_payment(app, now), traceparent)


def dispute_payment(db: Database, actor: Actor, application_id: str, reason: str, traceparent: str | None = None):
    """The student disputes the recorded payment, saying why; the organisation and the admins hear of it."""

    def decide(app: dict, now: datetime) -> dict:
        return domain.disputed_payment(app, reason, now)

    return _change_payment(db, actor, application_id, decide, traceparent)


def _change_payment(
    db: Database, actor: Actor, application_id: str, decide: Callable[[dict, datetime], dict], traceparent
) -> dict:
    """Write the payment `decide` returns and its event, deciding on the application as stored under its lock."""
    with changing_application(db, actor, application_id) as changing:
        app = changing.app
        now = now_utc()
        payment = decide(app, now)
        previous = (app.get("payment") or {}).get("status")
        change = store.Change(
            fields={"payment": payment, "updated_at": now},
            appended={"payment_history": domain.payment_history_entry(payment, actor, now)},
        )
        return changing.write(change, [payment_event(app, payment, previous, traceparent)])


def _listing_currency(db: Database, app: dict) -> str:
    """The currency the listing states its stipend in (INR when the read model does not say)."""
    listing = store.find_listing(db, app["listing_id"]) or {}
    return (listing.get("stipend") or {}).get("currency") or "INR"
