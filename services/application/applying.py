"""A student applies to a published listing, highlighting earlier credentials (the first step of an application)."""

from __future__ import annotations

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
    outbox pointer, inserts; a student with n open applications tries n places first, and after the first refusal
    reads by `_id` whether it was their earlier application to this listing (its id is named after the pair).
    Nothing is read back.
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
    application_id = domain.application_id_for(listing_id, actor.id)
    app = domain.new_application(application_id, listing, actor, cover_note, paired_answers, stored_now, highlighted)
    event = application_event(app, None, traceparent)
    asked = False
    for number in range(1, limits.max_open_applications + 1):
        try:
            store.insert_application(db, app, [event], place=number)
        except store.Refused:
            # That place is taken, or the student applied to this listing before: its _id says which, asked once.
            if not asked and store.has_application(db, application_id):
                raise _already_applied() from None
            asked = True
            continue
        return shown_with(app, known)  # the document as stored, not read back
    # Said before the limit, as it was when asked first. An application stored before ids were named after the pair
    # is found only by reading every application on FerretDB: asked only here, when every place was refused.
    if store.student_has_applied(db, actor.id, listing_id):
        raise _already_applied()
    raise domain.too_many_open_applications(limits)


def _already_applied() -> Conflict:
    return Conflict("you have already applied to this listing", code="already_applied")
