"""The runtime every use case acts on: settings, the database and the issuer's key ring."""

from __future__ import annotations

from dataclasses import dataclass, field

from pymongo.database import Database

from services.certification import store
from services.certification.credential import did_web
from services.certification.keys import KeyRing, describe_key, key_dir_for
from shared.config import Settings


@dataclass
class Runtime:
    """What the use cases need: settings, the database and the key ring."""

    settings: Settings
    db: Database
    keyring: KeyRing
    # Published keys are never removed, so remembering them can never say yes wrongly.
    known_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Skill pages are never removed either: a slug seen once need not be written again.
    published_skills: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, settings: Settings, db: Database) -> Runtime:
        """Bind the service's settings to a database."""
        return cls(settings, db, KeyRing(db, key_dir_for(settings)))

    def published_key(self, method_id: str) -> tuple[str, str] | None:
        """publicKeyMultibase and a description of a key in the DID document (re-read on a miss)."""
        if method_id not in self.known_keys:
            self.known_keys = {
                f"{self.did}#{r['_id']}": (r["public_key_multibase"], describe_key(r))
                for r in store.signing_keys(self.db)
            }
        return self.known_keys.get(method_id)

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
