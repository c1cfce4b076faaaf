"""The local read models: listings and organisations from `stint.listing`, credentials from `stint.certification`."""

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


def _credential(data: dict) -> dict:
    """What a highlighted credential needs: whose it is, what it was for, where anyone can verify it."""
    return {
        "_id": data["credential_id"],
        "student_id": data["student"]["id"],
        "listing_title": data.get("listing_title", ""),
        "org_id": data.get("org_id", ""),
        "verification_url": data["verification_url"],
    }


def record_issued_credential(db: Database, event: dict) -> str:
    """Remember a student's new credential, so they can highlight it when applying."""
    credential = _credential(event["data"])
    store.keep_issued_credential(db, credential)
    return f"credential {credential['_id']} of {credential['student_id']} kept"


def record_reissued_credential(db: Database, event: dict) -> str:
    """A credential was re-issued under a new key: the successor can be highlighted, the one it replaces cannot."""
    successor = _credential(event["data"])
    store.keep_issued_credential(db, successor)
    store.keep_replaced_credential(db, event["data"]["reissue_of"], successor["_id"])
    return f"credential {event['data']['reissue_of']} replaced by {successor['_id']}"


def record_revoked_credential(db: Database, event: dict) -> str:
    """Remember that a credential was revoked: it can no longer be highlighted, and shows as unverified."""
    credential = {**_credential(event["data"]), "revoked_at": datetime.fromisoformat(event["time"])}
    store.keep_revoked_credential(db, credential)
    return f"credential {credential['_id']} revoked"
