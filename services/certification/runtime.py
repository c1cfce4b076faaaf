"""The runtime every use case acts on: settings, the database and the issuer's key ring."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from pymongo.database import Database

from services.certification import store
from services.certification.credential import did_web
from services.certification.domain import key_revocation_message
from services.certification.keys import CURRENT_KEY_TTL_SECONDS, KeyRing, describe_key, key_dir_for
from shared.config import Settings


@dataclass
class Runtime:
    """What the use cases need: settings, the database and the key ring."""

    settings: Settings
    db: Database
    keyring: KeyRing
    # Keys are read again on a miss and at least every few seconds: a key revoked by another process is
    # distrusted here within CURRENT_KEY_TTL_SECONDS.
    known_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    revoked_keys: dict[str, str] = field(default_factory=dict)
    keys_read_at: float = 0.0
    # Skill pages are never removed either: a slug seen once need not be written again.
    published_skills: set[str] = field(default_factory=set)
    # Status list places counted on a list and not yet used by this process (issuing.open_status_list).
    status_list_id: str = ""
    status_places_left: int = 0
    status_places_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings, db: Database) -> Runtime:
        """Bind the service's settings to a database."""
        return cls(settings, db, KeyRing(db, key_dir_for(settings)))

    def published_key(self, method_id: str) -> tuple[str, str] | None:
        """publicKeyMultibase and a description of a trusted key in the DID document (None when unknown or revoked)."""
        stale = time.monotonic() - self.keys_read_at >= CURRENT_KEY_TTL_SECONDS
        if stale or (method_id not in self.known_keys and method_id not in self.revoked_keys):
            self.forget_keys()
        return self.known_keys.get(method_id)

    def key_revoked(self, method_id: str) -> str | None:
        """Why a key of ours is no longer trusted (it was revoked as compromised), or None."""
        self.published_key(method_id)
        return self.revoked_keys.get(method_id)

    def forget_keys(self) -> None:
        """Read the keys again now (after this process revoked one, or when the cache is stale)."""
        records = store.signing_keys(self.db)
        self.known_keys = {
            f"{self.did}#{r['_id']}": (r["public_key_multibase"], describe_key(r))
            for r in records
            if r["status"] != "revoked"
        }
        self.revoked_keys = {
            f"{self.did}#{r['_id']}": key_revocation_message(
                r["_id"], r.get("revoked_at"), r.get("revocation_reason", "")
            )
            for r in records
            if r["status"] == "revoked"
        }
        self.keys_read_at = time.monotonic()

    @property
    def public_url(self) -> str:
        """Base of every public link."""
        return self.settings.public_url.rstrip("/")

    @property
    def did(self) -> str:
        """The issuer's did:web."""
        return did_web(self.settings.public_url)

    def status_list_url(self, list_id: str) -> str:
        """Where a status list credential is served."""
        return f"{self.public_url}/status-lists/{list_id}"

    def verification_url(self, credential_uuid: str) -> str:
        """The public verification page of a credential."""
        return f"{self.public_url}/verify/{credential_uuid}"
