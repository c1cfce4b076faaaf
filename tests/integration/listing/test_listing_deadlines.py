"""The deadline job closes each published listing once its deadline passes, reading a per-day deadline index by _id.

FerretDB 1.24 answers a filter like `{status: published, apply_by: {$lte: now}}` by reading every listing, so the job
reads the index documents of the days since the last cleared one instead (services/listing/store.py). These tests
move the clock by passing the job a later time, as the worker's next passes would see it.
"""

from __future__ import annotations

from datetime import timedelta

from pymongo import MongoClient, monitoring

from services.listing import handlers, store
from shared import owner_index


def deadline(db, listing_id: str):
    return store.find_listing(db, listing_id)["apply_by"]


def status(db, listing_id: str) -> str:
    return store.find_listing(db, listing_id)["status"]


def move_deadline(client, callers, listing_id: str, apply_by) -> None:
    response = client.patch(
        f"/listings/{listing_id}", json={"apply_by": apply_by.isoformat()}, headers=callers["employer"]
    )
    assert response.status_code == 200, response.get_json()


def test_a_listing_is_closed_after_its_deadline_and_only_then(platform, db, verified_org):
    listing = platform.published_listing()
    due = deadline(db, listing["id"])
    assert handlers.close_expired_listings(db, at=due - timedelta(seconds=1)) == 0
    assert status(db, listing["id"]) == "published"
    assert handlers.close_expired_listings(db, at=due) == 1
    assert handlers.close_expired_listings(db, at=due + timedelta(seconds=30)) == 0
    closed = store.find_listing(db, listing["id"])
    assert (closed["status"], closed["closed_reason"]) == ("closed", "deadline")


def test_a_deadline_moved_later_does_not_close_the_listing_on_its_old_day(platform, client, callers, db, verified_org):
    listing = platform.published_listing()
    old = deadline(db, listing["id"])
    move_deadline(client, callers, listing["id"], old + timedelta(days=3))

    assert handlers.close_expired_listings(db, at=old + timedelta(days=1)) == 0
    assert status(db, listing["id"]) == "published"
    assert handlers.close_expired_listings(db, at=old + timedelta(days=3)) == 1
    assert status(db, listing["id"]) == "closed"


def test_a_deadline_moved_earlier_closes_the_listing_on_its_new_day(platform, client, callers, db, verified_org):
    listing = platform.published_listing()
    old = deadline(db, listing["id"])
    move_deadline(client, callers, listing["id"], old - timedelta(days=5))

    assert handlers.close_expired_listings(db, at=old - timedelta(days=5)) == 1
    assert status(db, listing["id"]) == "closed"
    assert handlers.close_expired_listings(db, at=old + timedelta(days=1)) == 0  # its old day holds nothing due
    assert db[store.DEADLINE_INDEX].find_one({"_id": store.deadline_key(listing["id"], old)})["entries"] == []  # tidied


def test_a_listing_closed_by_its_owner_is_not_closed_again(platform, client, callers, db, verified_org, tap):
    listing = platform.published_listing()
    response = client.post(f"/listings/{listing['id']}/close", headers=callers["employer"])
    assert response.status_code == 200, response.get_json()
    assert handlers.close_expired_listings(db, at=deadline(db, listing["id"]) + timedelta(days=1)) == 0
    assert store.find_listing(db, listing["id"])["closed_reason"] == "closed_by_owner"


def test_a_listing_published_before_the_deadline_index_existed_is_closed_after_a_restart(
    platform, db, verified_org, monkeypatch
):
    earlier = platform.published_listing()
    later = platform.published_listing(apply_by=(deadline(db, earlier["id"]) + timedelta(days=20)).isoformat())
    draft = platform.create()
    # The database as it was before the index: no deadline days, and a process that never saw it complete.
    db.drop_collection(store.DEADLINE_INDEX)
    monkeypatch.setattr(owner_index, "_complete", set())
    # Until the listings published before are entered, the job still finds them (by the old query).
    assert handlers.close_expired_listings(db, at=deadline(db, earlier["id"])) == 1

    store.ensure_indexes(db)  # the worker restarts: it enters every published listing, once
    assert db[store.DEADLINE_INDEX].find_one({"_id": owner_index.COMPLETE}) is not None
    assert handlers.close_expired_listings(db, at=deadline(db, later["id"])) == 1
    assert [status(db, x["id"]) for x in (earlier, later, draft)] == ["closed", "closed", "draft"]


class Finds(monitoring.CommandListener):
    """The filter of every `find` a client sends."""

    def __init__(self):
        self.filters: list[tuple[str, dict]] = []

    def started(self, event):
        if event.command_name == "find":
            self.filters.append((event.command["find"], dict(event.command.get("filter") or {})))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_the_job_reads_listings_and_deadline_days_by_id_alone(platform, settings, db, verified_org):
    listing = platform.published_listing()
    finds = Finds()
    client = MongoClient(settings.mongo_url, tz_aware=True, event_listeners=[finds])
    try:
        assert handlers.close_expired_listings(client[db.name], at=deadline(db, listing["id"])) == 1
    finally:
        client.close()
    read = [(name, list(query)) for name, query in finds.filters if name in (store.LISTINGS, store.DEADLINE_INDEX)]
    assert read and all(keys == ["_id"] for _, keys in read), read
