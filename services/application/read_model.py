"""The local read model of listings and organisations, built only from `stint.listing` events."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from services.application import store

DATE_FIELDS = ("apply_by", "published_at")


def record_listing(db: Database, event: dict) -> str:
    """Keep the newest snapshot of a listing (published, updated or closed); older versions change nothing."""
    snapshot = {key: value for key, value in event["data"].items() if key != "_id"}
    for name in DATE_FIELDS:
        if snapshot.get(name):
            snapshot[name] = datetime.fromisoformat(snapshot[name])
    kept = store.keep_newest_listing(db, snapshot)
    return f"listing {snapshot['listing_id']} v{snapshot['version']} {'kept' if kept else 'older, ignored'}"


def record_org(db: Database, event: dict) -> str:
    """Keep the newest profile of an organisation (its website goes into approved-work events)."""
    org = {key: event["data"].get(key) for key in ("org_id", "name", "website", "status")}
    kept = store.keep_newest_org(db, org, datetime.fromisoformat(event["time"]))
    return f"org {org['org_id']} {'kept' if kept else 'older, ignored'}"
