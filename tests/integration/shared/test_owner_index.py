"""Per-owner index documents (shared/owner_index.py): several owners changed at once, their locks taken together."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from shared.locks import LOCKS, document_lock
from shared.owner_index import OwnerIndex
from tests.support.commands import logged

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entry(number: int) -> dict:
    return {"id": f"doc-{number}", "at": T0 + timedelta(minutes=number)}


def listed(index: OwnerIndex, owner: str) -> list[str]:
    return [listed["id"] for listed in index.entries([owner])]


def test_entries_for_several_owners_are_listed_each_under_its_owner_and_no_lock_is_left(db):
    index = OwnerIndex(db.index_of_things, "at")
    index.add("ana", [entry(1)])

    index.add_all({"ana": [entry(2), entry(3)], "ben": [entry(4)], "cai": [entry(5)]})

    assert listed(index, "ana") == ["doc-3", "doc-2", "doc-1"]  # added to what was there, newest first
    assert listed(index, "ben") == ["doc-4"]
    assert listed(index, "cai") == ["doc-5"]
    assert db[LOCKS].count_documents({}) == 0


def test_an_owner_another_writer_holds_is_added_once_the_writer_lets_go_and_nothing_is_lost(db):
    index = OwnerIndex(db.index_of_things, "at", max_entries=3)
    held, release = threading.Event(), threading.Event()

    def other_writer():  # holds ben's index while adding its own entry, as a second consumer thread would
        with document_lock(index.collection, "ben"):
            held.set()
            release.wait(5)
            index._push("ben", [entry(9)])

    writer = threading.Thread(target=other_writer)
    writer.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()

    index.add_all({"ana": [entry(1)], "ben": [entry(2), entry(3)]})

    writer.join(5)
    assert time.monotonic() - started >= 0.25  # ben's entries waited for the other writer's lock
    assert listed(index, "ana") == ["doc-1"]
    assert listed(index, "ben") == ["doc-9", "doc-3", "doc-2"]  # both writers' entries, within the limit
    assert db[LOCKS].count_documents({}) == 0


def test_adding_is_one_write_and_a_replaced_or_dropped_entry_is_never_listed(db):
    index = OwnerIndex(db.index_of_things, "at", max_entries=3)
    index.add("ana", [entry(1), entry(2), entry(3)])
    with logged(db) as (mine, commands):
        OwnerIndex(mine.index_of_things, "at", max_entries=3).add("ana", [entry(4)])
    assert [sent for sent in commands.sent if "document_locks" not in sent] == ["findAndModify index_of_things"]

    index.add("ana", [{**entry(2), "at": T0 + timedelta(hours=1)}])  # doc-2 again, newer

    assert listed(index, "ana") == ["doc-2", "doc-4", "doc-3"]  # the newer copy, the newest three
    assert index.entries(["ana"])[0]["at"] == T0 + timedelta(hours=1)


def test_an_owner_document_is_written_back_without_what_it_no_longer_lists_once_that_is_more_than_a_few(db):
    index = OwnerIndex(db.index_of_things, "at", max_entries=3)
    for number in range(1, 40):
        index.add("ana", [entry(number)])
        stored = db.index_of_things.find_one({"_id": "ana"})["entries"]
        assert len(stored) <= 3 + index._slack + 1  # bounded: never grows with every add
        assert listed(index, "ana") == [f"doc-{n}" for n in range(number, max(0, number - 3), -1)]
    assert len(db.index_of_things.find_one({"_id": "ana"})["entries"]) < 39
