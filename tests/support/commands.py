"""The commands a MongoDB client sent, as "name collection" (pymongo's command monitoring): for tests that count a
use case's round trips, which timings cannot show reliably."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pymongo import MongoClient, monitoring
from pymongo.database import Database


class CommandLog(monitoring.CommandListener):
    """Each command sent, in order ("endSessions", which a client sends when it closes, left out)."""

    def __init__(self):
        self.sent: list[str] = []
        self.filters: list[dict | None] = []  # each find's filter (None for the other commands), beside `sent`

    def started(self, event):
        if event.command_name != "endSessions":
            self.sent.append(f"{event.command_name} {event.command.get(event.command_name)}")
            self.filters.append(dict(event.command.get("filter") or {}) if event.command_name == "find" else None)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@contextlib.contextmanager
def logged(db: Database) -> Iterator[tuple[Database, CommandLog]]:
    """The same database through a client of its own whose commands are logged."""
    log = CommandLog()
    host, port = db.client.address
    client = MongoClient(host, port, tz_aware=True, event_listeners=[log])
    try:
        yield client[db.name], log
    finally:
        client.close()
