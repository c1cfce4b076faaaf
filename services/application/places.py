"""A listing's seats, never more taken than it has (a student's open places live in the applications: store.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.database import Database

from services.application import domain, store

# (holder's status or None when it does not exist, whether it has submitted work, how long it held the place)
LeftBehind = Callable[[str | None, bool, timedelta], bool]


def take_seat(db: Database, listing: dict, application_id: str, now: datetime) -> None:
    """Take one of the listing's seats for the application (or find the one it holds); else 409 no_seats_left."""
    if not _take(db, store.SEATS, listing["_id"], listing["seats"], application_id, now, domain.seat_left_behind):
        raise domain.no_seats_left(listing["seats"])


def give_back(db: Database, application_id: str, status: str, has_work: bool = False) -> None:
    """Free the seat a closed application no longer needs (idempotent); its open place went with its closing write."""
    if status not in domain.OPEN_STATUSES and not domain.keeps_seat(status, has_work):
        store.give_back_place(db, store.SEATS, application_id)


def _take(db, kind: str, owner: str, capacity: int, application_id: str, now: datetime, left_behind: LeftBehind):
    """Take a place; when all are taken, first free those a crash left behind and try once more."""
    if store.take_place(db, kind, owner, capacity, application_id, now):
        return True
    return _reclaim(db, kind, owner, now, left_behind) > 0 and store.take_place(
        db, kind, owner, capacity, application_id, now
    )


def _reclaim(db: Database, kind: str, owner: str, now: datetime, left_behind: LeftBehind) -> int:
    """Free the places of `owner` whose holders should not hold them any more; return how many."""
    taken = store.places_of(db, kind, owner)
    holders = {app["_id"]: app for app in store.applications_by_ids(db, [place["application_id"] for place in taken])}
    freed = 0
    for place in taken:
        holder = holders.get(place["application_id"]) or {}
        if left_behind(holder.get("status"), bool(holder.get("submissions")), now - place["taken_at"]):
            freed += store.give_back_place(db, kind, place["application_id"])
    return freed
