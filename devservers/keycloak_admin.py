"""Keycloak's admin REST API as the master realm's bootstrap admin: stint realm accounts for people and tests."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

import requests

from .keycloak import ADMIN_USER, REALM

ROLES = ("student", "employer", "university", "admin")


class KeycloakAdminError(RuntimeError):
    """Keycloak refused an admin request; the message carries Keycloak's own reason."""


def generated_password() -> str:
    """A random password the realm's policy accepts (long, unrelated to the email)."""
    return secrets.token_urlsafe(18)


def names_from(name: str | None, email: str) -> tuple[str, str]:
    """First and last name from "First Last", else from the email's local part (Keycloak asks for both)."""
    words = (name or "").split() or [w.title() for w in re.split(r"[._+-]+", email.split("@")[0]) if w]
    if not words:
        return "Stint", "User"
    return words[0], " ".join(words[1:]) or "User"


@dataclass
class KeycloakAdmin:
    """A client of the admin REST API for one realm, signed in as the master realm's admin."""

    base_url: str
    password: str
    username: str = ADMIN_USER
    realm: str = REALM
    timeout: float = 10.0
    _token: str = ""
    _expires: float = 0.0

    def _bearer(self) -> str:
        if time.monotonic() < self._expires:
            return self._token
        # The master realm's own admin-cli client: Keycloak's admin sign-in, not a Stint client.
        response = requests.post(
            f"{self.base_url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.username,
                "password": self.password,
            },
            timeout=self.timeout,
        )
        if response.status_code != 200:
            raise KeycloakAdminError(f"admin sign-in refused ({response.status_code}): {response.text[:300]}")
        body = response.json()
        self._token, self._expires = body["access_token"], time.monotonic() + body["expires_in"] - 10
        return self._token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call /admin/realms/<realm><path>; raise KeycloakAdminError with Keycloak's message on a 4xx/5xx."""
        response = requests.request(
            method,
            f"{self.base_url}/admin/realms/{self.realm}{path}",
            headers={"Authorization": f"Bearer {self._bearer()}"},
            timeout=self.timeout,
            **kwargs,
        )
        if response.status_code >= 400:
            raise KeycloakAdminError(f"{method} {path}: {response.status_code} {_reason(response)}")
        return response

    def find_user(self, email: str) -> dict | None:
        """The account with this email, or None."""
        users = self.request("GET", "/users", params={"email": email, "exact": "true"}).json()
        return users[0] if users else None

    def user(self, user_id: str) -> dict:
        """The account with this id."""
        return self.request("GET", f"/users/{user_id}").json()

    def create_user(
        self,
        email: str,
        password: str,
        *,
        name: str | None = None,
        role: str | None = None,
        org: str | None = None,
        verified: bool = True,
    ) -> str:
        """Create an enabled account (email as username) with a permanent password; return its id."""
        if role is not None and role not in ROLES:
            raise KeycloakAdminError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        first, last = names_from(name, email)
        attributes = {key: [value] for key, value in (("role", role), ("org", org)) if value}
        response = self.request(
            "POST",
            "/users",
            json={
                "username": email,
                "email": email,
                "firstName": first,
                "lastName": last,
                "enabled": True,
                "emailVerified": verified,
                "attributes": attributes,
                "credentials": [{"type": "password", "value": password, "temporary": False}],
            },
        )
        return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    def set_attributes(self, user_id: str, **values: str | None) -> None:
        """Set (or, with None, remove) attributes such as role and org, keeping the account's other fields."""
        user = self.user(user_id)
        attributes = dict(user.get("attributes") or {})
        for key, value in values.items():
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = [value]
        user["attributes"] = attributes
        self.request("PUT", f"/users/{user_id}", json=user)

    def brute_force_status(self, user_id: str) -> dict:
        """Keycloak's brute-force record for the account ({"disabled": bool, "numFailures": int, ...})."""
        return self.request("GET", f"/attack-detection/brute-force/users/{user_id}").json()


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("error_description") or body.get("error") or body)
    return str(body)
