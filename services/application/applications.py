"""An application as every use case finds, shows and changes it, and the two reads of the API.

The reads: one application the caller may see (`get_application`) and a page of them (`list_applications`), shown as
their readers see them (`shown*`). The shared steps of every write (applying.py, decisions.py, work.py, payments.py):
the application read under its write lock for one change (`changing_application`), the time (`now_utc`), the
change recording a move in the history (`transition`), and the listing an application belongs to (`listing_of`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from pymongo.database import Database

from services.application import domain, store
from services.application.domain import Actor
from shared.errors import Conflict, NotFound


def now_utc() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


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
        **store.without_outbox(app),
        "highlighted_credentials": [
            {**h, "verified": domain.credential_verified(h, known.get(h["credential_id"]), app["student_id"])}
            for h in app.get("highlighted_credentials", [])
        ],
    }


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
    return _visible(actor, store.find_application(db, application_id))


@contextlib.contextmanager
def changing_application(db: Database, actor: Actor, application_id: str) -> Iterator[store.Changing]:
    """One application the caller may see, read under its write lock for one change (store.changing: nobody else
    changes it meanwhile); NotFound for everyone else."""
    with store.changing(db, application_id) as changing:
        _visible(actor, changing.app)
        yield changing


def _visible(actor: Actor, app: dict | None) -> dict:
    if app is None or not domain.can_see(actor, app["student_id"], app["org_id"]):
        raise NotFound("no application with this id", code="application_not_found")
    return app


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
