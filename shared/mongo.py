"""MongoDB connection with short timeouts, so a dead database means a quick 503, not a hang."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

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


__all__ = ["connect", "ping", "PyMongoError"]
