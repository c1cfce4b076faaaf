"""One owner's documents found by `_id` alone: a small index document per owner listing their documents.

FerretDB 1.24 pushes only a filter that is exactly `{_id: value}` down to its storage; any other filter (a student's
credentials, a person's inbox) is answered by reading and parsing every document of the collection, so such a list
slows down with everybody's data. An `OwnerIndex` keeps, per owner, one document `{_id: owner, entries: [...]}`
whose entries carry each listed document's id and sort time (and any small flags a list filters on); a page is that
document read by `_id`, sorted in memory, and each document shown read by `_id`. Both servers answer that in time
independent of the collection's size; on MongoDB it costs about what an indexed query does.

Writes take the owner's document lock (shared/locks.py: a read-modify-write on FerretDB is not atomic). Adding
appends with one `findAndModify` (`$push`), not a read and a write back; superseded copies and entries past a limit
are left out when read and written away once they are a few. An entry is
added before the document it names is stored, so a reader never misses a stored document; an entry whose document
was never stored (a writer died between the two) is skipped when read. Indexes created after documents already
existed are filled once by `backfill` (idempotent; a marker says when it is done, and until then the caller keeps
its old query).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from shared.locks import document_lock, give_back, take_locks
from shared.pagination import cut_page, decode_cursor

COMPLETE = "~complete"  # the marker document's _id: every document stored before the index existed is in it
_complete: set[str] = set()  # indexes known complete, by server/database/collection (it never stops being true)


class OwnerIndex:
    """The per-owner index documents in `collection`, ordered by each entry's `sort_field` (a time) then id; the
    entries are stored under `entries_field` of each owner's document."""

    def __init__(
        self, collection: Collection, sort_field: str, entries_field: str = "entries", max_entries: int | None = None
    ):
        self.collection = collection
        self.sort_field = sort_field
        self.entries_field = entries_field
        # With a limit, an owner's index keeps its newest entries only (the oldest drop out as new ones come), so
        # one busy owner's document stays small.
        self.max_entries = max_entries
        # Superseded copies and entries past the limit a document may hold before it is written back without them:
        # an add appends, and rewrites the document only once in this many.
        self._slack = max(16, (max_entries or 0) // 10)

    def add(self, owner: str, entries: Iterable[dict]) -> None:
        """Put entries in an owner's index; an entry already there is replaced. Past `max_entries`, the oldest
        entries leave the index."""
        with document_lock(self.collection, owner):
            self._push(owner, list(entries))

    def add_all(self, entries_by_owner: dict[str, list[dict]]) -> None:
        """`add` for several owners at once (a run of events): their locks are taken with one insert and given back
        with one delete (shared.locks.take_locks); an owner another writer holds is changed after, alone, waiting
        for its lock."""
        locks = take_locks(self.collection, list(entries_by_owner))
        try:
            for owner in locks.ids:
                self._push(owner, entries_by_owner[owner])
        finally:
            give_back(locks)
        for owner in entries_by_owner.keys() - set(locks.ids):
            self.add(owner, entries_by_owner[owner])

    def _push(self, owner: str, entries: list[dict]) -> None:
        """Append entries to an owner's document with one write that answers with the document, not a read and a
        write (the caller holds the owner's lock). The document may so keep an entry's older copies and, past
        `max_entries`, its oldest entries, which readers leave out (`_listed`); once they are more than `_slack`, it
        is written back as it is listed."""
        if not entries:
            return
        after = self.collection.find_one_and_update(
            {"_id": owner},
            {"$push": {self.entries_field: {"$each": entries}}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        stored = after.get(self.entries_field) or []
        listed = self._listed(stored)
        if len(stored) - len(listed) > self._slack:
            self.collection.update_one({"_id": owner}, {"$set": {self.entries_field: list(listed.values())}})

    def remove(self, owner: str, ids: Iterable[str]) -> None:
        """Take entries out of an owner's index (their documents were never stored, or are gone)."""
        gone = set(ids)
        self._change(owner, lambda current: {key: entry for key, entry in current.items() if key not in gone})

    def discard(self, owner: str, entries: Iterable[dict]) -> None:
        """Take entries out of an owner's index if they are still as read (one a writer has since replaced stays)."""
        seen = {entry["id"]: entry for entry in entries}
        self._change(owner, lambda current: {k: v for k, v in current.items() if seen.get(k) != v})

    def mark(self, owner: str, entry_id: str, **flags) -> None:
        """Set flags on one entry of an owner's index (nothing when the entry is not there)."""
        self._change(
            owner,
            lambda current: {**current, entry_id: {**current[entry_id], **flags}} if entry_id in current else current,
        )

    def entries(self, owners: Iterable[str]) -> list[dict]:
        """Every entry of these owners, newest first by (sort field, id)."""
        found = [entry for owner in dict.fromkeys(owners) for entry in self._entries_of(owner).values()]
        return sorted(found, key=self._key, reverse=True)

    def page(
        self,
        entries: list[dict],
        load: Callable[[str], dict | None],
        limit: int,
        cursor: str | None,
        keep: Callable[[dict], bool] = lambda document: True,
    ) -> tuple[list[dict], str | None]:
        """One page of the documents these entries (newest first) name, each loaded by `load(id)`, after the
        cursor, skipping those not stored and those `keep` refuses; the next cursor as shared.pagination makes it."""
        if cursor:
            after = tuple(decode_cursor(cursor))
            entries = [entry for entry in entries if self._key(entry) < after]
        shown: list[dict] = []
        for entry in entries:
            document = load(entry["id"])
            if document is not None and keep(document):
                shown.append(document)
                if len(shown) > limit:
                    break
        return cut_page(shown, limit, self.sort_field)

    def complete(self) -> bool:
        """True once `backfill` has entered every document stored before this index existed."""
        key = f"{self.collection.database.client.address}/{self.collection.full_name}"
        if key not in _complete and self.collection.find_one({"_id": COMPLETE}) is not None:
            _complete.add(key)
        return key in _complete

    def backfill(self, documents: Iterable[tuple[str, dict]]) -> None:
        """Enter (owner, entry) pairs of the documents stored before this index existed, then mark it complete.
        Once per database: a rerun (two processes starting together, one that died half-way) enters nothing twice."""
        if self.collection.find_one({"_id": COMPLETE}) is not None:
            return
        by_owner: dict[str, list[dict]] = {}
        for owner, entry in documents:
            by_owner.setdefault(owner, []).append(entry)
        for owner, owned in by_owner.items():
            self.add(owner, owned)
        with contextlib.suppress(DuplicateKeyError):
            self.collection.insert_one({"_id": COMPLETE, "at": datetime.now(UTC)})

    def _key(self, entry: dict) -> tuple:
        return (entry[self.sort_field], entry["id"])

    def _entries_of(self, owner: str) -> dict[str, dict]:
        stored = self.collection.find_one({"_id": owner}) or {}
        return self._listed(stored.get(self.entries_field) or ())

    def _listed(self, stored: Iterable[dict]) -> dict[str, dict]:
        """An owner's entries as listed, from its document's: the last copy of each id, the newest `max_entries`."""
        entries = {entry["id"]: entry for entry in stored}
        if self.max_entries is not None and len(entries) > self.max_entries:
            newest = sorted(entries.values(), key=self._key, reverse=True)[: self.max_entries]
            entries = {entry["id"]: entry for entry in newest}
        return entries

    def _change(self, owner: str, change: Callable[[dict[str, dict]], dict[str, dict]]) -> None:
        """Read an owner's entries, change them, write them back by `_id` alone, under the owner's lock."""
        with document_lock(self.collection, owner):
            self._apply(owner, change)

    def _apply(self, owner: str, change: Callable[[dict[str, dict]], dict[str, dict]]) -> None:
        """Read, change and write back an owner's entries; the caller holds the owner's lock."""
        current = self._entries_of(owner)
        changed = change(current)
        if changed != current:
            entries = list(changed.values())
            self.collection.update_one({"_id": owner}, {"$set": {self.entries_field: entries}}, upsert=True)
