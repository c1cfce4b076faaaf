"""Decisions on an application before the work: the employer shortlists, accepts (into one of the listing's seats)
or rejects an applicant; the student withdraws. Each is one step of the state machine in domain.py, with its event."""

from __future__ import annotations

from pymongo.database import Database

from services.application import domain, places, store
from services.application.applications import (
    WRITE_ATTEMPTS,
    changed_meanwhile,
    get_application,
    listing_of,
    now_utc,
    transition,
)
from services.application.domain import Actor
from services.application.event_data import application_event


def shortlist(db: Database, actor: Actor, application_id: str, note: str = "", traceparent: str | None = None) -> dict:
    """The employer shortlists an applicant."""
    return _move(db, actor, application_id, "shortlist", note, traceparent)


def reject(db: Database, actor: Actor, application_id: str, note: str = "", traceparent: str | None = None) -> dict:
    """The employer rejects an applicant (before any work is submitted); an accepted one gives back the seat."""
    return _move(db, actor, application_id, "reject", note, traceparent)


def withdraw(db: Database, actor: Actor, application_id: str, note: str = "", traceparent: str | None = None) -> dict:
    """The student withdraws; an accepted application gives back its seat."""
    return _move(db, actor, application_id, "withdraw", note, traceparent)


def _move(db: Database, actor: Actor, application_id: str, action: str, note: str, traceparent: str | None) -> dict:
    """Apply a simple transition with its event; re-read and decide again when another change won the race."""
    for _ in range(WRITE_ATTEMPTS):
        app = get_application(db, actor, application_id)
        status = domain.next_status(action, app["status"])
        change = transition(app, status, actor, now_utc(), note=note)
        stored = store.write_change(
            db, app, change, [application_event({**app, "status": status}, app["status"], traceparent)]
        )
        if stored is not None:
            places.give_back(db, app["_id"], status)
            return stored
    raise changed_meanwhile()


def accept(db: Database, actor: Actor, application_id: str, note: str = "", traceparent: str | None = None) -> dict:
    """The employer accepts an applicant into one of the listing's seats; concurrent accepts never overfill.

    No transaction: first a seat is taken (an insert under a unique key), then the application moves.
    If the move loses to a withdrawal or rejection, the seat is given back. A retry after a crash between
    the two finds the seat already reserved for the application and completes.
    """
    reserved = False
    for _ in range(WRITE_ATTEMPTS):
        app = get_application(db, actor, application_id)
        try:
            domain.next_status("accept", app["status"])
        except domain.IllegalTransition:
            if reserved:  # lost to a withdrawal or rejection: the seat goes back
                places.give_back(db, app["_id"], app["status"], bool(app.get("submissions")))
            raise
        now = now_utc()
        places.take_seat(db, listing_of(db, app), app["_id"], now)
        reserved = True
        change = transition(app, domain.ACCEPTED, actor, now, note=note, fields={"accepted_at": now})
        event = application_event({**app, "status": domain.ACCEPTED}, app["status"], traceparent)
        stored = store.write_change(db, app, change, [event])
        if stored is not None:
            return stored
    raise changed_meanwhile()
