"""Per-document locks and leases, as inserts under unique keys.

FerretDB 1.24 (SQLite) applies an update as read, apply the operators in Go, write the whole
document back: two concurrent updates of one document lose one of them, and a filter guard is
checked against a read that may be stale. An insert under a unique key, though, is atomic on
FerretDB and MongoDB alike. So:

- every write to an aggregate document holds `document_lock(collection, id)`;
- work that must be done by one process at a time (publishing a document's events, sending one
  webhook delivery) takes a `take_lease(...)`, then re-reads what it leased before acting.

A lock or lease whose holder died is taken over once it is older than its time limit. One whose holder lives but
could not give it back (the database went away in between) is given back by that process as soon as it next takes a
lock or lease, so a short database outage does not leave a busy document for the whole time limit.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, InvalidOperation, PyMongoError

from shared.errors import Unavailable
from shared.mongo import insert_new

LOCKS = "document_locks"
LEASES = "leases"
LOCK_WAIT_SECONDS = 5.0
# A write takes milliseconds; a lock this old belongs to a process that died holding it.
STALE_LOCK_SECONDS = 30


# Locks and leases this process holds no longer but could not delete: (collection, key, token), retried.
_unreleased: list[tuple[Collection, str, str]] = []
_unreleased_guard = threading.Lock()
# While the database stays away, retry at most this often: each failed try waits out the client's timeout, and a
# request answering 503 during an outage must not wait for it twice.
RETRY_GIVE_BACK_SECONDS = 5.0
_retry_give_back_at = 0.0


class DocumentBusy(Unavailable):
    """Another writer held the document for longer than a request should wait."""

    code = "document_busy"


@contextlib.contextmanager
def document_lock(collection: Collection, document_id, wait_seconds: float = LOCK_WAIT_SECONDS):
    """Hold the write lock of one document; DocumentBusy (503) when it stays taken."""
    key, token = f"{collection.name}/{document_id}", uuid.uuid4().hex
    locks = collection.database[LOCKS]
    if not _insert_key(locks, key, token, wait_seconds, STALE_LOCK_SECONDS):
        raise DocumentBusy("the resource is being changed by another request; retry shortly")
    try:
        yield
    finally:
        _give_back(locks, key, token)


def keep_if_newer(collection: Collection, document_id, field: str, value, values: dict) -> bool:
    """Store `values` (and `field`: `value`) as document `document_id` unless the stored `field` is as new or newer:
    a read model that keeps the newest state though events arrive late. True when stored.

    Compared on the document read by `_id` under its lock, then written by `_id` alone: an upsert filtered on
    `{_id, field: {$lt: value}}` is neither atomic on FerretDB (above) nor cheap there (any filter besides `_id` is
    answered by reading every document of the collection).
    """
    with document_lock(collection, document_id):
        stored = collection.find_one({"_id": document_id}, {field: 1})
        if stored is not None and stored.get(field) is not None and stored[field] >= value:
            return False
        collection.update_one({"_id": document_id}, {"$set": {**values, field: value}}, upsert=True)
    return True


@dataclass(frozen=True)
class Lease:
    """A held lease: give it back with release_lease."""

    leases: Collection
    key: str
    token: str


def take_lease(collection: Collection, document_id, seconds: float, purpose: str) -> Lease | None:
    """Lease one document for `purpose` without waiting; None when someone else holds it."""
    key, token = f"{purpose}:{collection.name}/{document_id}", uuid.uuid4().hex
    leases = collection.database[LEASES]
    return Lease(leases, key, token) if _insert_key(leases, key, token, 0, seconds) else None


def release_lease(lease: Lease) -> None:
    """Give a lease back (if the database is down, again on the next lock or lease this process takes)."""
    _give_back(lease.leases, lease.key, lease.token)


@dataclass(frozen=True)
class HeldKeys:
    """Locks or leases of several documents taken with one insert: the ids held, given back with one delete."""

    keys: Collection
    key_by_id: dict
    token: str

    @property
    def ids(self) -> list:
        return list(self.key_by_id)


def take_leases(
    collection: Collection, document_ids: list, seconds: float, purpose: str, keys: Collection | None = None
) -> HeldKeys:
    """Lease several documents for `purpose` with one insert, without waiting: those someone else holds are left
    out (one whose holder died is taken over, as take_lease does). The leases are kept in `keys` when given (the
    outbox keeps its leases beside its pointers: shared/outbox.py), else in the `leases` collection."""
    keys = collection.database[LEASES] if keys is None else keys
    return _insert_keys(keys, {i: lease_key(collection, i, purpose) for i in document_ids}, seconds)


def lease_key(collection: Collection, document_id, purpose: str) -> str:
    """The key of a document's lease for `purpose`."""
    return f"{purpose}:{collection.name}/{document_id}"


def insert_with_leases(keys: Collection, documents: list[dict], key_by_id: dict) -> tuple[list, HeldKeys]:
    """Insert `documents` and the leases `key_by_id` (a document id -> its lease key, as lease_key makes them) into
    `keys` with one insert, without waiting: the `_id`s of `documents` stored (those there already are not), and
    the leases taken (one someone else holds is left out, even a stale one: its taker takes that over)."""
    stored, token = _insert_together(keys, key_by_id, documents)
    held = {document_id: key for document_id, key in key_by_id.items() if key in stored}
    return [document["_id"] for document in documents if document["_id"] in stored], HeldKeys(keys, held, token)


def take_locks(collection: Collection, document_ids: list) -> HeldKeys:
    """Take the write locks of several documents with one insert, without waiting: those another writer holds are
    left out (the caller takes them one at a time, with document_lock, after giving these back: waiting for one
    while holding others could hold up a writer that waits for one of these)."""
    return _insert_keys(
        collection.database[LOCKS], {i: f"{collection.name}/{i}" for i in document_ids}, STALE_LOCK_SECONDS
    )


def give_back(*held: HeldKeys) -> None:
    """Give back locks or leases taken together (if the database is down, again on the next lock or lease); several
    sets of one collection, each taken with its own token, go with one delete."""
    sets = [h for h in held if h.key_by_id]
    if not sets:
        return
    if len({h.keys.full_name for h in sets}) > 1:
        raise ValueError("give_back: keys of one collection at a time")
    keys, tokens = [key for h in sets for key in h.key_by_id.values()], [h.token for h in sets]
    try:
        sets[0].keys.delete_many(held_filter(keys, tokens))
    except PyMongoError:
        _note_unreleased([(h.keys, key, h.token) for h in sets for key in h.key_by_id.values()])


def held_filter(keys: list[str], tokens: list[str]) -> dict:
    """The filter matching those of `keys` still held under one of `tokens` (one a stale holder lost to a new taker
    carries the taker's token, and is left alone)."""
    tokens = sorted(set(tokens))
    return {"_id": {"$in": keys}, "token": tokens[0] if len(tokens) == 1 else {"$in": tokens}}


def _insert_together(keys: Collection, key_by_id: dict, documents: list[dict] = ()) -> tuple[set, str]:
    """Insert the key documents (and `documents`) into `keys` with one insert: the `_id`s stored, and the keys'
    token. Held keys that could not be given back earlier are given back first."""
    if _unreleased:
        _give_back_unreleased()
    token, now = uuid.uuid4().hex, datetime.now(UTC)
    taken = [{"_id": key, "token": token, "taken_at": now} for key in key_by_id.values()]
    try:
        stored = set(insert_new(keys, [*documents, *taken]))
    except PyMongoError:
        _note_unreleased([(keys, key, token) for key in key_by_id.values()])  # some may be stored, answer lost
        raise
    return stored, token


def _insert_keys(keys: Collection, key_by_id: dict, stale_seconds: float) -> HeldKeys:
    """Insert the key documents with one insert; a key held already is taken over only when stale (then alone)."""
    stored, token = _insert_together(keys, key_by_id)
    held = {document_id: key for document_id, key in key_by_id.items() if key in stored}
    for document_id, key in key_by_id.items():
        if key not in stored and _insert_key(keys, key, token, 0, stale_seconds):
            held[document_id] = key
    return HeldKeys(keys, held, token)


def _give_back(keys: Collection, key: str, token: str) -> None:
    """Delete a held key document; when the database does not answer, note it to retry (the work it guarded is
    done or has failed on its own: the answer does not depend on this delete)."""
    try:
        keys.delete_one({"_id": key, "token": token})
    except PyMongoError:
        _note_unreleased([(keys, key, token)])


def _note_unreleased(held: list[tuple[Collection, str, str]], retry_in: float = 0.0) -> None:
    """Note keys this process could not delete, to delete them on its next lock or lease (not before `retry_in`)."""
    global _retry_give_back_at
    with _unreleased_guard:
        _unreleased.extend(held)
        if retry_in:
            _retry_give_back_at = time.monotonic() + retry_in


def _give_back_unreleased() -> None:
    """Retry the deletes that failed earlier, stopping at the first that fails again (all stay noted)."""
    with _unreleased_guard:
        if time.monotonic() < _retry_give_back_at:
            return
        pending = _unreleased[:]
        _unreleased.clear()
    for done, (keys, key, token) in enumerate(pending):
        try:
            keys.delete_one({"_id": key, "token": token})
        except InvalidOperation:
            continue  # its client was closed (the process is shutting down): nothing to give back through it
        except PyMongoError:
            _note_unreleased(pending[done:], retry_in=RETRY_GIVE_BACK_SECONDS)
            return


def _insert_key(keys: Collection, key: str, token: str, wait_seconds: float, stale_seconds: float) -> bool:
    """Insert the key document, waiting while another holder has it and taking over a stale one."""
    if _unreleased:
        _give_back_unreleased()
    deadline, pause = time.monotonic() + wait_seconds, 0.002
    while True:
        now = datetime.now(UTC)
        try:
            keys.insert_one({"_id": key, "token": token, "taken_at": now})
            return True
        except DuplicateKeyError:
            stale = {"_id": key, "taken_at": {"$lt": now - timedelta(seconds=stale_seconds)}}
            if keys.delete_one(stale).deleted_count:
                continue
        except PyMongoError:
            _note_unreleased([(keys, key, token)])  # it may be stored though its answer was lost
            raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(0.05, pause * 2)
