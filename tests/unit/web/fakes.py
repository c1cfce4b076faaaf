"""A stand-in for the one MongoDB collection the web's session store uses (unit tests only)."""

from __future__ import annotations

import copy
from types import SimpleNamespace


class FakeSessionCollection:
    """find_one / replace_one / delete_one / delete_many on `_id` and an `expires_at` bound, in memory."""

    def __init__(self):
        self.documents: dict[str, dict] = {}

    def find_one(self, query):
        found = self.documents.get(query["_id"])
        return copy.deepcopy(found) if found else None

    def replace_one(self, query, document, upsert=False):
        self.documents[query["_id"]] = copy.deepcopy(document)

    def delete_one(self, query):
        self.documents.pop(query["_id"], None)

    def delete_many(self, query):
        bound = query["expires_at"]["$lte"]
        gone = [key for key, doc in self.documents.items() if doc["expires_at"] <= bound]
        for key in gone:
            del self.documents[key]
        return SimpleNamespace(deleted_count=len(gone))
