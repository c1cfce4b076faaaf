"""MongoDB connection with short timeouts, so a dead database means a quick 503, not a hang."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

# The server's code for an insert a unique index refused (in a bulk write's errors).
DUPLICATE_KEY = 11000

SERVER_SELECTION_TIMEOUT_MS = 2500
SOCKET_TIMEOUT_MS = 10000


def connect(settings) -> Database:
    """Open this service's database (lazily: no I/O until first use)."""
    client = MongoClient(
        settings.mongo_url,
        serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        connectTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        socketTimeoutMS=SOCKET_TIMEOUT_MS,
        tz_aware=True,
        appname=f"stint-{settings.service}",
    )
    return client[settings.database_name]


def ping(db: Database) -> None:
    """Raise when the database does not answer."""
    db.client.admin.command("ping")


def find_by_ids(collection: Collection, ids: list, projection: dict | None = None) -> dict:
    """The documents among `ids` by `_id` (missing ones left out), each read with a filter that is exactly
    `{_id: id}`: FerretDB 1.24 (SQLite) pushes down no other filter, so `{_id: {$in: ids}}` parses the whole
    collection. For the pages of at most a hundred ids the services read; the same answer on MongoDB."""
    found = {}
    for document_id in dict.fromkeys(ids):
        document = collection.find_one({"_id": document_id}, projection)
        if document is not None:
            found[document_id] = document
    return found


def insert_new(collection: Collection, documents: list[dict]) -> list:
    """Insert documents with one insert, skipping those a unique index refuses (already there: an idempotency key,
    a taken place); the `_id`s stored, in order. Any other refusal raises."""
    if not documents:
        return []
    try:
        collection.insert_many(documents, ordered=False)
        refused = set()
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        refused = {error["index"] for error in errors}
    return [document["_id"] for index, document in enumerate(documents) if index not in refused]


__all__ = ["DUPLICATE_KEY", "connect", "find_by_ids", "insert_new", "ping", "PyMongoError"]
