"""A student applies to a published listing, highlighting earlier credentials (the first step of an application)."""

from __future__ import annotations

import uuid

from pymongo.database import Database

from services.application import domain, store
from services.application.applications import now_utc, shown_with
from services.application.domain import Actor, Limits
from services.application.event_data import application_event
from shared.errors import Conflict, Unprocessable


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


def _already_applied() -> Conflict:
    return Conflict("you have already applied to this listing", code="already_applied")
