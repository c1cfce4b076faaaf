"""Stint's accounts as the identity provider (Keycloak) keeps them: read an account, set its `role` and `org`.

The listing service owns organisations and who belongs to them, so it is the one service that writes those two
user attributes, through Keycloak's admin REST API as the `stint-accounts` service account (realm-management
`view-users` + `manage-users` only). People cannot edit either attribute themselves (the realm's user profile
makes them admin-only), so a token's `role` and `org` claims are only ever what this module set.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

import requests
import structlog

from shared.errors import NotFound, Unavailable

log = structlog.get_logger(__name__)

TIMEOUT_SECONDS = 5
TOKEN_MARGIN_SECONDS = 30  # fetch a new service-account token this long before the current one expires


@dataclass(frozen=True)
class Account:
    """A person's account as the identity provider holds it."""

    id: str
    email: str
    email_verified: bool
    name: str
    role: str | None
    org: str | None

    def view(self) -> dict:
        """The account as the API shows it."""
        return {"id": self.id, "email": self.email, "name": self.name, "role": self.role, "org": self.org}


class IdentityProvider:
    """Keycloak's admin API for one realm, called with a client-credentials token."""

    def __init__(self, base_url: str, realm: str, client_id: str, client_secret: str):
        self._base = base_url.rstrip("/")
        self._realm = realm
        self._client = (client_id, client_secret)
        self._http = requests.Session()
        self._token, self._token_expires = "", 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, extra: dict) -> IdentityProvider | None:
        """The provider named by STINT_KEYCLOAK_URL and STINT_ACCOUNTS_CLIENT_*; None when not configured."""
        url, secret = extra.get("STINT_KEYCLOAK_URL", ""), extra.get("STINT_ACCOUNTS_CLIENT_SECRET", "")
        if not (url and secret):
            return None
        return cls(
            url,
            extra.get("STINT_KEYCLOAK_REALM", "stint"),
            extra.get("STINT_ACCOUNTS_CLIENT_ID", "stint-accounts"),
            secret,
        )

    def account(self, user_id: str) -> Account:
        """The account `user_id`, or NotFound."""
        return _account(self._user(user_id))

    def set_attributes(self, user_id: str, **values: str | None) -> Account:
        """Set (or, with None, remove) user attributes; return the account as it now stands."""
        user = self._user(user_id)
        attributes = dict(user.get("attributes") or {})
        for name, value in values.items():
            if value is None:
                attributes.pop(name, None)
            else:
                attributes[name] = [value]
        user["attributes"] = attributes
        self._call("PUT", f"/users/{quote(user_id, safe='')}", json=user)
        log.info("account_attributes_set", user_id=user_id, attributes=sorted(values))
        return _account(user)

    def _user(self, user_id: str) -> dict:
        response = self._call("GET", f"/users/{quote(user_id, safe='')}")
        if response.status_code == 404:
            raise NotFound("no account with this id", code="account_not_found")
        return response.json()

    def _call(self, method: str, path: str, retried: bool = False, **kwargs) -> requests.Response:
        url = f"{self._base}/admin/realms/{self._realm}{path}"
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        try:
            response = self._http.request(method, url, headers=headers, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as exc:
            raise _unavailable(exc) from None
        if response.status_code == 401 and not retried:  # our token was revoked or the keys rotated: once more
            self._token_expires = 0.0
            return self._call(method, path, retried=True, **kwargs)
        if response.status_code >= 400 and response.status_code != 404:
            raise _unavailable(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
        return response

    def _access_token(self) -> str:
        with self._lock:
            if time.monotonic() < self._token_expires:
                return self._token
            url = f"{self._base}/realms/{self._realm}/protocol/openid-connect/token"
            try:
                response = self._http.post(
                    url, data={"grant_type": "client_credentials"}, auth=self._client, timeout=TIMEOUT_SECONDS
                )
                response.raise_for_status()
            except requests.RequestException as exc:
                raise _unavailable(exc) from None
            body = response.json()
            self._token = body["access_token"]
            self._token_expires = time.monotonic() + max(0, int(body.get("expires_in", 60)) - TOKEN_MARGIN_SECONDS)
            return self._token


def _account(user: dict) -> Account:
    attributes = user.get("attributes") or {}

    def first(name: str) -> str | None:
        values = attributes.get(name) or []
        return values[0] if values else None

    name = " ".join(part for part in (user.get("firstName"), user.get("lastName")) if part)
    return Account(
        id=user["id"],
        email=user.get("email", ""),
        email_verified=bool(user.get("emailVerified")),
        name=name,
        role=first("role"),
        org=first("org"),
    )


def _unavailable(reason) -> Unavailable:
    log.warning("identity_provider_unavailable", reason=str(reason)[:300])
    return Unavailable(
        "the identity provider cannot be reached; try again shortly", code="identity_provider_unavailable"
    )
