"""Use cases of an application's life before the work: apply, look, shortlist, accept, reject, withdraw."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pymongo.database import Database

from services.application import domain, places, store
from services.application.domain import Actor, Limits
from services.application.event_data import application_event
from shared.errors import Conflict, NotFound, Unprocessable

# A guarded write that loses a race re-reads and decides again; this many tries is plenty for people clicking.
WRITE_ATTEMPTS = 5


def now_utc() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


def apply(
    db: Database,
    limits: Limits,
    actor: Actor,
    listing_id: str,
    cover_note: str,
    answers: list[str],
    traceparent: str | None = None,
    credential_ids: list[str] = (),
) -> dict:
    """A student applies to a published listing (highlighting earlier credentials): the application starts
    `applied`; returned as its readers see it.

    Round trips: the listing read by `_id`, each highlighted credential read by `_id`, then the application (with
    its event and the first of the student's open places that is free: unique indexes decide both rules) and the
    outbox pointer, inserts; a student with n open applications tries n places first. Nothing is read back.
    """
    listing = store.find_listing(db, listing_id)
    if listing is None:
        raise Unprocessable(
            "no published listing has this id", code="listing_not_found", details={"listing_id": listing_id}
        )
    now = now_utc()
    domain.check_listing_open(listing["status"], listing["apply_by"], now)
    paired_answers = domain.check_answers(listing.get("screening_questions", []), answers)
    known = store.find_credentials(db, list(credential_ids))
    highlighted = domain.check_highlighted_credentials(credential_ids, known, actor.id)
    stored_now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as the database keeps it (milliseconds)
    app = domain.new_application(str(uuid.uuid4()), listing, actor, cover_note, paired_answers, stored_now, highlighted)
    event = application_event(app, None, traceparent)
    for number in range(1, limits.max_open_applications + 1):
        try:
            store.insert_application(db, app, [event], place=number)
        except store.Refused:
            continue  # that place is taken, or the student applied to this listing before
        # The document as stored, not read back: a read by _id walks the whole collection on FerretDB's SQLite.
        return shown_with(app, known)
    # Said before the limit, as it was when asked first; asked only now, since finding it scans on FerretDB.
    if store.student_has_applied(db, actor.id, listing_id):
        raise _already_applied()
    raise domain.too_many_open_applications(limits)


def shown(db: Database, app: dict) -> dict:
    """An application as its readers see it: each highlighted credential says whether it is still verified."""
    return shown_all(db, [app])[0]


def shown_all(db: Database, apps: list[dict]) -> list[dict]:
    """Applications as their readers see them (credentials looked up once for the whole page)."""
    ids = [h["credential_id"] for app in apps for h in app.get("highlighted_credentials", [])]
    known = store.find_credentials(db, ids) if ids else {}
    return [shown_with(app, known) for app in apps]


def shown_with(app: dict, known: dict[str, dict]) -> dict:
    """An application as its readers see it, given the credentials read model's entries it highlights (`known`)."""
    return {
        **{name: value for name, value in app.items() if name not in store.HIDE_OUTBOX},
        "highlighted_credentials": [
            {**h, "verified": domain.credential_verified(h, known.get(h["credential_id"]), app["student_id"])}
            for h in app.get("highlighted_credentials", [])
        ],
    }


def _already_applied() -> Conflict:
    return Conflict("you have already applied to this listing", code="already_applied")


def list_applications(
    db: Database, actor: Actor, listing_id: str | None, status: str | None, limit: int, cursor: str | None
) -> dict:
    """A page of the applications the caller may see, newest first."""
    query: dict = {"student_id": actor.id} if actor.role == "student" else {"org_id": actor.org}
    if listing_id:
        query["listing_id"] = listing_id
    if status:
        query["status"] = status
    items, next_cursor = store.page_of_applications(db, query, limit, cursor)
    return {"items": shown_all(db, items), "next_cursor": next_cursor}


def get_application(db: Database, actor: Actor, application_id: str) -> dict:
    """One application the caller may see; NotFound for everyone else, so ids leak nothing."""
    app = store.find_application(db, application_id)
    if app is None or not domain.can_see(actor, app["student_id"], app["org_id"]):
        raise NotFound("no application with this id", code="application_not_found")
    return app


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
        if store.write_change(
            db, app, change, [application_event({**app, "status": status}, app["status"], traceparent)]
        ):
            places.give_back(db, app["_id"], status)
            return store.find_application(db, app["_id"])
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
        if store.write_change(db, app, change, [event]):
            return store.find_application(db, app["_id"])
    raise changed_meanwhile()


def transition(
    app: dict,
    status: str,
    actor: Actor,
    now: datetime,
    note: str = "",
    fields: dict | None = None,
    appended: dict | None = None,
    raised: dict | None = None,
) -> store.Change:
    """The change moving `app` to `status`, recording who did it and when in its history, with whatever else the
    step sets (`fields`), appends to a list (`appended`) or counts (`raised`)."""
    return store.Change(
        fields={"status": status, "updated_at": now, **(fields or {})},
        appended={"history": domain.history_entry(status, app["status"], actor, now, note), **(appended or {})},
        raised=raised or {},
    )


def listing_of(db: Database, app: dict) -> dict:
    """The listing an application belongs to, from the read model."""
    listing = store.find_listing(db, app["listing_id"])
    if listing is None:  # cannot happen after an apply, but never a 500
        raise Conflict("the listing of this application is unknown", code="listing_not_found")
    return listing


def changed_meanwhile() -> Conflict:
    """The error when every attempt lost a race (rare: people do not click that fast)."""
    return Conflict("the application changed while this request ran; try again", code="concurrent_update")
