"""The search model's loads: a full reload never holds a search longer than its wait, and shows once it is done."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.listing import search_model, store
from shared.errors import Unavailable

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def listing(listing_id: str, minutes: int) -> dict:
    return {"_id": listing_id, "published_at": NOW + timedelta(minutes=minutes), "status": "published"}


class FakeStore:
    """The marker and the published listings; a full load can be held until released."""

    def __init__(self, monkeypatch):
        self.marker: dict = {}
        self.listings: dict[str, dict] = {}
        self.release = threading.Event()
        self.release.set()
        self.full_loads = 0
        monkeypatch.setattr(store, "listings_marker", lambda db: {"generation": self.marker.get("generation")})
        monkeypatch.setattr(store, "listing_changes", lambda db: list(self.marker.get("changes", [])))
        monkeypatch.setattr(store, "published_listings", self.published_listings)
        monkeypatch.setattr(store, "published_listing", lambda db, listing_id: self.listings.get(listing_id))

    def published_listings(self, db):
        self.full_loads += 1
        self.release.wait(10)
        return list(self.listings.values())

    def change(self, generation: str, listing_id: str | None, document: dict | None = None) -> None:
        if document is not None:
            self.listings[document["_id"]] = document
        changes = [*self.marker.get("changes", []), {"generation": generation, "listing_id": listing_id}]
        self.marker = {"generation": generation, "changes": changes}


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(search_model, "_snapshots", {})
    monkeypatch.setattr(search_model, "_loads", {})
    monkeypatch.setattr(search_model, "RELOAD_WAIT", 0.05)
    monkeypatch.setattr(search_model, "FIRST_LOAD_WAIT", 0.2)
    return FakeStore(monkeypatch)


DB = SimpleNamespace(client=SimpleNamespace(address=("fake", 1)), name="listing")


def loads_done() -> None:
    for load in list(search_model._loads.values()):
        load.finished.wait(5)


def ids(listings: list[dict]) -> list[str]:
    return [item["_id"] for item in listings]


def test_a_changed_listing_is_reread_without_a_full_load(fake):
    fake.change("g1", "a", listing("a", 1))
    assert ids(search_model.published(DB)) == ["a"]
    fake.change("g2", "b", listing("b", 2))
    assert ids(search_model.published(DB)) == ["b", "a"]
    assert fake.full_loads == 1


def test_a_bulk_change_answers_from_the_previous_snapshot_until_its_load_is_done(fake):
    fake.change("g1", "a", listing("a", 1))
    assert ids(search_model.published(DB)) == ["a"]

    fake.release.clear()  # the reload after a bulk insert takes its time
    fake.listings |= {f"bulk{n}": listing(f"bulk{n}", 10 + n) for n in range(3)}
    fake.change("g2", None)
    assert ids(search_model.published(DB)) == ["a"]
    assert ids(search_model.published(DB)) == ["a"]
    assert fake.full_loads == 2  # one load per process for the bulk change, however many searches wait on it

    fake.release.set()
    loads_done()
    assert ids(search_model.published(DB)) == ["bulk2", "bulk1", "bulk0", "a"]


def test_a_first_load_slower_than_its_wait_answers_503_and_serves_once_loaded(fake):
    fake.change("g1", "a", listing("a", 1))
    fake.release.clear()
    with pytest.raises(Unavailable):
        search_model.published(DB)
    fake.release.set()
    loads_done()
    assert ids(search_model.published(DB)) == ["a"]
    assert fake.full_loads == 1


def test_a_reload_that_fails_leaves_the_previous_snapshot_and_the_next_search_tries_again(fake, monkeypatch):
    fake.change("g1", "a", listing("a", 1))
    assert ids(search_model.published(DB)) == ["a"]

    def timed_out(db):
        raise TimeoutError("the database was too busy")

    loaded = fake.published_listings
    monkeypatch.setattr(store, "published_listings", timed_out)
    fake.listings["b"] = listing("b", 2)
    fake.change("g2", None)
    assert ids(search_model.published(DB)) == ["a"]

    monkeypatch.setattr(store, "published_listings", loaded)
    assert ids(search_model.published(DB)) == ["b", "a"]
