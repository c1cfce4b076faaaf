"""Decisions on an application before the work: the employer shortlists, accepts (into one of the listing's seats)
or rejects an applicant; the student withdraws. Each is one step of the state machine in domain.py, with its event."""

from __future__ import annotations

from pymongo.database import Database

from services.application import domain, places
from services.application.applications import changing_application, listing_of, now_utc, transition
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
    """Apply a simple transition with its event, deciding on the application as stored under its lock."""
    with changing_application(db, actor, application_id) as changing:
        app = changing.app
        status = domain.next_status(action, app["status"])
        change = transition(app, status, actor, now_utc(), note=note)
        stored = changing.write(change, [application_event({**app, "status": status}, app["status"], traceparent)])
    places.give_back(db, app["_id"], status)
    return stored


def accept(db: Database, actor: Actor, application_id: str, note: str = "", traceparent: str | None = None) -> dict:
    """The employer accepts an applicant into one of the listing's seats; concurrent accepts never overfill.

    No transaction: first a seat is taken (an insert under a unique key), then the application moves, both under the
    application's lock, so no withdrawal or rejection comes between them. A retry after a crash between the two finds
    the seat already reserved for the application and completes; a seat nobody comes back for is reclaimed later.
    """
    with changing_application(db, actor, application_id) as changing:
        app = changing.app
        domain.next_status("accept", app["status"])
        now = now_utc()
        places.take_seat(db, listing_of(db, app), app["_id"], now)
        change = transition(app, domain.ACCEPTED, actor, now, note=note, fields={"accepted_at": now})
        event = application_event({**app, "status": domain.ACCEPTED}, app["status"], traceparent)
        return changing.write(change, [event])
