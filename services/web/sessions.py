"""Server-side sessions: the cookie carries an opaque id; what the session holds (tokens included) stays in the
web's own database, keyed by a hash of that id. FerretDB 1.24 has no TTL index, so each session stores its expiry
and is checked (and swept) on read. The data is stored as one JSON string: FerretDB 1.24 refuses nested arrays
(Flask's flashed messages are lists of pairs), and keys with dots or dollars would trip either server."""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from datetime import UTC, datetime, timedelta

import structlog
from flask.sessions import SessionInterface, SessionMixin
from pymongo.errors import PyMongoError
from werkzeug.datastructures import CallbackDict

log = structlog.get_logger(__name__)
SWEEP_CHANCE = 0.01  # one save in a hundred clears expired sessions
TOUCH_AFTER = timedelta(minutes=5)  # an unchanged session's expiry is pushed back at most this often


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


class SessionStore:
    """Sessions in one collection: `_id` is the SHA-256 of the cookie's id, so a database dump holds no live id."""

    def __init__(self, collection, lifetime: timedelta):
        self.collection = collection
        self.lifetime = lifetime

    @staticmethod
    def key(session_id: str) -> str:
        """The stored key of a session id."""
        return hashlib.sha256(session_id.encode()).hexdigest()

    def load(self, session_id: str, now: datetime) -> tuple[dict, datetime] | None:
        """The session's data and last write time, or None when unknown or expired (an expired one is deleted)."""
        document = self.collection.find_one({"_id": self.key(session_id)})
        if document is None:
            return None
        if document["expires_at"] <= now:
            self.collection.delete_one({"_id": self.key(session_id)})
            return None
        return json.loads(document.get("data") or "{}"), document["updated_at"]

    def save(self, session_id: str, data: dict, now: datetime) -> None:
        """Write the session, its expiry pushed to `lifetime` from now."""
        document = {
            "_id": self.key(session_id),
            "data": json.dumps(data, separators=(",", ":")),
            "updated_at": now,
            "expires_at": now + self.lifetime,
        }
        self.collection.replace_one({"_id": document["_id"]}, document, upsert=True)

    def delete(self, session_id: str) -> None:
        """Forget a session."""
        self.collection.delete_one({"_id": self.key(session_id)})

    def sweep(self, now: datetime) -> int:
        """Delete every expired session; how many went."""
        return self.collection.delete_many({"expires_at": {"$lte": now}}).deleted_count


class ServerSession(CallbackDict, SessionMixin):
    """A session whose data lives on the server; `regenerate()` gives it a new id (on sign-in and sign-out)."""

    def __init__(self, data=None, session_id: str | None = None, updated_at: datetime | None = None):
        def on_update(_self):
            _self.modified = True

        super().__init__(data or {}, on_update)
        self.session_id = session_id
        self.updated_at = updated_at
        self.previous_id: str | None = None
        self.modified = False

    def regenerate(self) -> None:
        """Move the data to a fresh id, so an id known before sign-in is worthless after it (session fixation)."""
        if self.session_id:
            self.previous_id = self.session_id
        self.session_id = None
        self.modified = True


class MongoSessionInterface(SessionInterface):
    """Flask's session, kept in a SessionStore; the cookie is HttpOnly, SameSite=Lax and Secure when configured."""

    def __init__(self, store: SessionStore, secure: bool):
        self.store = store
        self.secure = secure
        # The __Host- prefix makes browsers refuse the cookie unless Secure, host-only and for path /.
        self.cookie_name = "__Host-stint_session" if secure else "stint_session"

    def open_session(self, app, request) -> ServerSession:
        """The session named by the cookie, or a new empty one."""
        session_id = request.cookies.get(self.cookie_name)
        if session_id and len(session_id) <= 100:
            try:
                found = self.store.load(session_id, now_utc())
            except PyMongoError as exc:  # public pages still work; /readyz says the database is down
                log.warning("session_store_unavailable", error=type(exc).__name__)
                return ServerSession()
            if found is not None:
                data, updated_at = found
                return ServerSession(data, session_id, updated_at)
        return ServerSession()

    def save_session(self, app, session: ServerSession, response) -> None:
        """Write what changed; an emptied session is deleted and its cookie cleared."""
        if session.previous_id:
            self.store.delete(session.previous_id)
        if not session:
            if session.session_id or session.previous_id:
                if session.session_id:
                    self.store.delete(session.session_id)
                response.delete_cookie(self.cookie_name, path="/", secure=self.secure, httponly=True, samesite="Lax")
            return
        now = now_utc()
        stale = session.updated_at is None or now - session.updated_at > TOUCH_AFTER
        if not (session.modified or session.session_id is None or stale):
            return
        if session.session_id is None:
            session.session_id = secrets.token_urlsafe(32)
        try:
            self.store.save(session.session_id, dict(session), now)
            if random.random() < SWEEP_CHANCE:
                self.store.sweep(now)
        except PyMongoError as exc:  # the page is shown; what it would have remembered is lost, and logged
            log.warning("session_store_unavailable", error=type(exc).__name__)
            return
        response.set_cookie(
            self.cookie_name,
            session.session_id,
            max_age=int(self.store.lifetime.total_seconds()),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="Lax",
        )
        response.vary.add("Cookie")
