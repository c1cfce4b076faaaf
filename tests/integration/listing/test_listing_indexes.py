"""The search runs on its indexes where the database can use them; what FerretDB does instead is pinned down.

FerretDB 1.24 on SQLite creates every index but pushes only a lone `_id` equality down to SQLite;
any other filter is evaluated by scanning the collection (see docs/listing.md and bench/listing_search.py).
MongoDB answers the same search from the multikey `search_terms` index.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.listing import domain, store

SEARCH_INDEXES = {"search_newest", "search_terms", "search_skill", "deadline", "org_listings", "outbox_pending"}


def explain(db, query: dict, sort: list | None = None, limit: int = 0) -> dict:
    command = {"find": store.LISTINGS, "filter": query, "limit": limit}
    if sort:
        command["sort"] = dict(sort)
    return db.command({"explain": command, "verbosity": "queryPlanner"})


def is_ferretdb(db) -> bool:
    return "ferretdbVersion" in db.client.admin.command("buildInfo")


def test_the_listing_indexes_exist(db):
    assert {index["name"] for index in store.listings(db).list_indexes()} >= SEARCH_INDEXES


def test_a_word_search_is_answered_from_the_search_terms_index(platform, db, verified_org):
    listing = platform.published_listing(title="Invoice parser")
    terms = domain.query_terms("invoice parser")
    query = store.search_query({}, terms, datetime.now(UTC))
    sort = [("published_at", -1), ("_id", -1)]
    plan = explain(db, query, sort, 21)
    if is_ferretdb(db):
        assert plan["filterPushdown"] is False  # FerretDB 1.24/SQLite: scanned, whatever the indexes
        assert explain(db, {"_id": listing["id"]})["filterPushdown"] is True  # the one access path it pushes down
    else:
        winning = json.dumps(plan["queryPlanner"]["winningPlan"])
        assert "IXSCAN" in winning and '"search_terms"' in winning
        assert "COLLSCAN" not in winning
