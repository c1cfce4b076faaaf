"""Ed25519 signing keys: private keys in files (mode 0600), only ids, public keys and dates in the database."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key
from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.certification import store
from services.certification.dataintegrity import public_key_multibase
from shared.config import ConfigError, Settings
from shared.dotenv import PROJECT_ROOT
from shared.errors import Unavailable

log = structlog.get_logger(__name__)
DEFAULT_KEY_DIR = PROJECT_ROOT / ".run" / "keys"
ROTATION_ATTEMPTS = 5
# How long a process keeps signing with the key it last read: a rotation elsewhere is picked up within this.
CURRENT_KEY_TTL_SECONDS = 5.0


class KeyUnavailable(Unavailable):
    """The current key's private file is not in this process's key directory."""


def key_dir_for(settings: Settings) -> Path:
    """STINT_SIGNING_KEY_DIR, or `.run/keys` outside production (production must name it)."""
    if settings.signing_key_dir:
        return Path(settings.signing_key_dir)
    if settings.env == "production":
        raise ConfigError("STINT_SIGNING_KEY_DIR is required in production (a volume shared by api and worker)")
    return DEFAULT_KEY_DIR


@dataclass(frozen=True)
class SigningKey:
    """The key credentials are signed with now."""

    key_id: str
    private_key: Ed25519PrivateKey
    public_key_multibase: str


def _file_name(public_multibase: str) -> str:
    """Files are named by their public key, so databases sharing a directory never collide."""
    return "ed25519-" + hashlib.sha256(public_multibase.encode()).hexdigest()[:32] + ".pem"


class KeyRing:
    """The issuer's keys: creates the first one, rotates, and loads private keys from their files."""

    def __init__(self, db: Database, key_dir: Path, *, collection: str = store.SIGNING_KEYS, owner: str = ""):
        self.db = db
        self.key_dir = Path(key_dir)
        # The platform's keys are `key-<n>` in signing_keys; an organisation's (owner) are `<org>/key-<n>` in its
        # own collection, each naming its fragment in `key_id` (endorsements.py).
        self.records = db[collection]
        self.scope = {"owner": owner} if owner else {}
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._lock = threading.Lock()
        self._current: tuple[float, SigningKey] | None = None

    def current(self) -> SigningKey:
        """The current signing key, creating the very first one on first use."""
        cached = self._current
        if cached is not None and time.monotonic() - cached[0] < CURRENT_KEY_TTL_SECONDS:
            return cached[1]
        record = self._current_record() or self._create_first()
        multibase = record["public_key_multibase"]
        key = SigningKey(record.get("key_id", record["_id"]), self._load(multibase), multibase)
        self._current = (time.monotonic(), key)
        return key

    def rotate(self) -> dict:
        """Make a new current key; the old ones become retired but stay published for verification."""
        for _ in range(ROTATION_ATTEMPTS):
            newest = self.records.find_one(self.scope, sort=[("seq", DESCENDING)])
            record = self._try_insert((newest["seq"] if newest else 0) + 1)
            if record is not None:
                self.records.update_many(
                    {**self.scope, "status": "current", "seq": {"$lt": record["seq"]}},
                    {"$set": {"status": "retired", "retired_at": record["created_at"]}},
                )
                self._current = None
                log.info("signing_key_rotated", key_id=record["_id"])
                return record
        raise KeyUnavailable("another key rotation is in progress; retry", code="rotation_in_progress")

    def _current_record(self) -> dict | None:
        """The newest key marked current."""
        return self.records.find_one({**self.scope, "status": "current"}, sort=[("seq", DESCENDING)])

    def _create_first(self) -> dict:
        record = self._try_insert(1)
        if record is not None:
            log.info("signing_key_created", key_id=record["_id"])
            return record
        existing = self._current_record()  # another process created it first
        if existing is None:
            raise KeyUnavailable("no current signing key could be created", code="no_signing_key")
        return existing

    def _try_insert(self, seq: int) -> dict | None:
        """Write a new private key file and its record as key-`seq`; None when that number is taken."""
        private_key = Ed25519PrivateKey.generate()
        multibase = public_key_multibase(private_key.public_key())
        path = self._write(private_key, multibase)
        key_id = f"key-{seq}"
        record = {
            "_id": f"{self.scope['owner']}/{key_id}" if self.scope else key_id,
            **({"key_id": key_id, **self.scope} if self.scope else {}),
            "seq": seq,
            "type": "Multikey",
            "public_key_multibase": multibase,
            "status": "current",
            "created_at": datetime.now(UTC),
            "retired_at": None,
        }
        try:
            self.records.insert_one(record)
        except DuplicateKeyError:
            path.unlink(missing_ok=True)  # never leave an unpublished private key behind
            return None
        return record

    def _write(self, private_key: Ed25519PrivateKey, multibase: str) -> Path:
        self.key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.key_dir / _file_name(multibase)
        pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        with self._lock:
            self._private[multibase] = private_key
        return path

    def _load(self, multibase: str) -> Ed25519PrivateKey:
        with self._lock:
            cached = self._private.get(multibase)
        if cached is not None:
            return cached
        path = self.key_dir / _file_name(multibase)
        try:
            private_key = load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise KeyUnavailable(
                "the current signing key's private file is not in STINT_SIGNING_KEY_DIR", code="signing_key_missing"
            ) from None
        if (
            not isinstance(private_key, Ed25519PrivateKey)
            or public_key_multibase(private_key.public_key()) != multibase
        ):
            raise KeyUnavailable("a signing key file does not match its published key", code="signing_key_mismatch")
        with self._lock:
            self._private[multibase] = private_key
        return private_key


def describe_key(record: dict) -> str:
    """How the verification answer names a key: current, or retired and since when."""
    if record["status"] == "current":
        return "the current key"
    if record["status"] == "revoked":
        return "a revoked key"
    retired = record.get("retired_at")
    return f"a retired key, retired {retired:%Y-%m-%d}" if retired else "a retired key"


def did_document(did: str, records: list[dict]) -> dict:
    """A DID document listing every current and retired key of `records` as a Multikey assertion method (revoked keys
    are left out, so no verifier trusts them)."""
    methods = [
        {
            "id": f"{did}#{record.get('key_id', record['_id'])}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": record["public_key_multibase"],
        }
        for record in records
        if record["status"] != "revoked"  # a key revoked as compromised verifies nothing, anywhere
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
