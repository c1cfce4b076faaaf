"""The listing indexes exist, and the search, answered from each process's memory, sees every change made since.

FerretDB 1.24 on SQLite pushes only a lone `_id` equality down to SQLite, so a search filter would scan and parse
every listing per request; services/listing/search_model.py reads one marker by `_id` per search instead and reloads
the published listings only when a listing write has changed the marker.
"""

from __future__ import annotations

from datetime import timedelta

from services.listing import search_model, store
from shared.mongo import connect

LISTING_INDEXES = {"search_newest", "deadline", "org_listings", "outbox_pending"}


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_the_listing_indexes_exist(db):
    assert {index["name"] for index in store.listings(db).list_indexes()} >= LISTING_INDEXES


def test_a_search_sees_a_change_another_process_made_after_the_last_search(platform, settings, verified_org):
    invoices = platform.published_listing(title="Invoice parser")
    assert ids(platform.search(q="invoice")) == [invoices["id"]]

    # Another api process or replica, with its own connection, changes the listing through the same store.
    elsewhere = connect(settings)
    stored = store.find_listing(elsewhere, invoices["id"])
    renamed = {"title": "Receipt parser", "search_terms": ["parser", "receipt"]}
    assert store.update_listing(elsewhere, stored, renamed, [])

    assert ids(platform.search(q="invoice")) == []
    assert ids(platform.search(q="receipt")) == [invoices["id"]]
    elsewhere.client.close()


def test_a_search_pages_through_every_match_newest_first(platform, verified_org):
    published = [platform.published_listing(title=f"Dashboard number {n}")["id"] for n in range(3)]
    first = platform.search(q="dashboard", limit=2)
    second = platform.search(q="dashboard", limit=2, cursor=first["next_cursor"])
    assert ids(first) + ids(second) == published[::-1]
    assert second["next_cursor"] is None


def test_a_listing_leaves_search_when_its_deadline_passes_with_nothing_written(platform, db, verified_org):
    listing = platform.published_listing(title="Invoice parser")
    deadline = store.find_listing(db, listing["id"])["apply_by"]
    before, at = deadline - timedelta(seconds=1), deadline
    assert [x["_id"] for x in search_model.search_page(db, {}, ["invoice"], before, 20, None)[0]] == [listing["id"]]
    assert search_model.search_page(db, {}, ["invoice"], at, 20, None)[0] == []


def test_a_search_further_behind_than_it_rereads_reloads_every_listing(platform, settings, verified_org, monkeypatch):
    first, second = (platform.published_listing(title=f"Invoice parser {n}")["id"] for n in (1, 2))
    assert set(ids(platform.search(q="invoice"))) == {first, second}
    monkeypatch.setattr(search_model, "MAX_REREAD", 1)

    elsewhere = connect(settings)
    for listing_id in (first, second):
        stored = store.find_listing(elsewhere, listing_id)
        assert store.update_listing(elsewhere, stored, {"search_terms": ["parser", "receipt"]}, [])
    elsewhere.client.close()

    assert ids(platform.search(q="invoice")) == []
    assert set(ids(platform.search(q="receipt"))) == {first, second}
