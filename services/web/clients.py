"""One small client per service API, called with the signed-in person's own token; an API's error answer becomes an
ApiProblem (services.web.problems) that the pages show as sentences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote

import requests
import structlog
from flask import current_app

from services.web.problems import ApiProblem

log = structlog.get_logger(__name__)
TIMEOUT_SECONDS = 10
LONG_TIMEOUT_SECONDS = 25  # a batch of credentials to verify; under gunicorn's 30 s
_http = requests.Session()  # one connection pool per process


def _problem_from(response: requests.Response) -> ApiProblem:
    try:
        error = response.json()["error"]
        return ApiProblem(response.status_code, error.get("code", ""), error.get("message", ""), error.get("details"))
    except (ValueError, KeyError, TypeError):
        return ApiProblem(response.status_code, "unexpected_answer", "the service gave an unexpected answer")


class ServiceClient:
    """A service's API at `base_url`, called as the person whose bearer token is given (or anonymously)."""

    service = ""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, *, params=None, json=None, raw=False, accept="", timeout=TIMEOUT_SECONDS):
        """Call the API; the JSON answer (or the raw response), or raise ApiProblem."""
        headers = {"Accept": accept or "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        params = {key: value for key, value in (params or {}).items() if value not in (None, "")}
        try:
            response = _http.request(
                method, self.base_url + path, params=params, json=json, headers=headers, timeout=timeout
            )
        except requests.RequestException:
            log.warning("service_unreachable", service=self.service, method=method, path=path)
            raise ApiProblem(
                503, "service_unreachable", "this part of Stint is not answering; try again shortly"
            ) from None
        if response.status_code >= 400:
            problem = _problem_from(response)
            problem.sent = json
            if response.status_code >= 500:
                log.warning("service_error", service=self.service, path=path, status=response.status_code)
                problem.message = "this part of Stint is having trouble; try again shortly"
            raise problem
        if raw:
            return response
        return response.json() if response.content else {}

    def ready(self) -> tuple[bool, str]:
        """Whether the service says it is ready (/readyz), and what it said."""
        try:
            response = _http.get(self.base_url + "/readyz", timeout=3)
        except requests.RequestException as exc:
            return False, f"not reachable ({type(exc).__name__})"
        return response.status_code == 200, response.text[:300]


def _id(value: str) -> str:
    return quote(str(value), safe="")


class ListingClient(ServiceClient):
    """Organisations, listings and accounts (onboarding, invitations, roles)."""

    service = "listing"

    def search(self, filters: Mapping, cursor: str | None = None, limit: int = 10) -> dict:
        return self.call("GET", "/listings", params={**filters, "cursor": cursor, "limit": limit})

    def categories(self) -> dict:
        return self.call("GET", "/categories")

    def my_listings(self, cursor: str | None = None, limit: int = 20) -> dict:
        return self.call("GET", "/listings", params={"mine": 1, "cursor": cursor, "limit": limit})

    def listing(self, listing_id: str) -> dict:
        return self.call("GET", f"/listings/{_id(listing_id)}")

    def create_listing(self, body: dict) -> dict:
        return self.call("POST", "/listings", json=body)

    def edit_listing(self, listing_id: str, changes: dict) -> dict:
        return self.call("PATCH", f"/listings/{_id(listing_id)}", json=changes)

    def publish(self, listing_id: str) -> dict:
        return self.call("POST", f"/listings/{_id(listing_id)}/publish")

    def close(self, listing_id: str) -> dict:
        return self.call("POST", f"/listings/{_id(listing_id)}/close")

    def org(self, org_id: str) -> dict:
        return self.call("GET", f"/orgs/{_id(org_id)}")

    def put_my_org(self, profile: dict) -> dict:
        return self.call("PUT", "/orgs/me", json=profile)

    def verify_org(self, org_id: str) -> dict:
        return self.call("POST", f"/orgs/{_id(org_id)}/verify")

    def orgs(self, status: str = "pending", cursor: str | None = None, limit: int = 20) -> dict:
        return self.call("GET", "/orgs", params={"status": status, "cursor": cursor, "limit": limit})

    def invitations(self, cursor: str | None = None, limit: int = 20) -> dict:
        return self.call("GET", "/orgs/me/invitations", params={"cursor": cursor, "limit": limit})

    def invite(self, email: str) -> dict:
        return self.call("POST", "/orgs/me/invitations", json={"email": email})

    def accept_invitation(self, invitation_id: str) -> dict:
        return self.call("POST", f"/invitations/{_id(invitation_id)}/accept")

    def choose_role(self, role: str) -> dict:
        return self.call("PUT", "/accounts/me/role", json={"role": role})

    def grant_role(self, user_id: str, role: str, org: str | None = None) -> dict:
        body = {"role": role, **({"org": org} if org else {})}
        return self.call("PUT", f"/accounts/{_id(user_id)}/role", json=body)


class ApplicationClient(ServiceClient):
    """Applications, their steps, submitted work and reviews."""

    service = "application"

    def apply(self, body: dict) -> dict:
        return self.call("POST", "/applications", json=body)

    def applications(self, listing_id=None, status=None, cursor=None, limit: int = 20) -> dict:
        params = {"listing_id": listing_id, "status": status, "cursor": cursor, "limit": limit}
        return self.call("GET", "/applications", params=params)

    def application(self, application_id: str) -> dict:
        return self.call("GET", f"/applications/{_id(application_id)}")

    def act(self, application_id: str, action: str, note: str = "") -> dict:
        return self.call("POST", f"/applications/{_id(application_id)}/{action}", json={"note": note})

    def submit_work(self, application_id: str, body: dict) -> dict:
        return self.call("POST", f"/applications/{_id(application_id)}/submissions", json=body)

    def review(self, application_id: str, body: dict) -> dict:
        return self.call("POST", f"/applications/{_id(application_id)}/review", json=body)

    def record_payment(self, application_id: str, body: dict) -> dict:
        return self.call("POST", f"/applications/{_id(application_id)}/payment", json=body)

    def confirm_payment(self, application_id: str) -> dict:
        return self.call("POST", f"/applications/{_id(application_id)}/payment/confirm")

    def dispute_payment(self, application_id: str, reason: str) -> dict:
        return self.call("POST", f"/applications/{_id(application_id)}/payment/dispute", json={"reason": reason})


class CertificationClient(ServiceClient):
    """Credentials, their verification, revocation and universities' credit."""

    service = "certification"

    def my_credentials(self, cursor=None, limit: int = 20) -> dict:
        return self.call("GET", "/credentials", params={"mine": 1, "cursor": cursor, "limit": limit})

    def verification(self, credential_id: str) -> dict:
        return self.call("GET", f"/verify/{_id(credential_id)}")

    def verify(self, credential: dict) -> dict:
        return self.call("POST", "/verify", json=credential)

    def verify_batch(self, items: Iterable[dict]) -> dict:
        return self.call("POST", "/verify/batch", json={"items": list(items)}, timeout=LONG_TIMEOUT_SECONDS)

    def issuer_keys(self) -> list[dict]:
        return self.call("GET", "/.well-known/did.json").get("verificationMethod", [])

    def rotate_key(self) -> dict:
        return self.call("POST", "/keys/rotate")

    def revoke_key(self, key_id: str, reason: str) -> dict:
        return self.call("POST", f"/keys/{_id(key_id)}/revoke", json={"reason": reason})

    def revoke(self, credential_id: str, reason: str) -> dict:
        return self.call("POST", f"/credentials/{_id(credential_id)}/revoke", json={"reason": reason})

    def policy(self) -> dict:
        return self.call("GET", "/universities/me/policy")

    def set_policy(self, body: dict) -> dict:
        return self.call("PUT", "/universities/me/policy", json=body)

    def decide_credit(self, credential_id: str, body: dict) -> dict:
        return self.call("POST", f"/credentials/{_id(credential_id)}/credit-decisions", json=body)

    def universities(self, status: str = "verified", cursor=None, limit: int = 20) -> dict:
        return self.call("GET", "/universities", params={"status": status, "cursor": cursor, "limit": limit})

    def university(self, university_id: str) -> dict:
        return self.call("GET", f"/universities/{_id(university_id)}")

    def put_my_university(self, profile: dict) -> dict:
        return self.call("PUT", "/universities/me", json=profile)

    def verify_university(self, university_id: str) -> dict:
        return self.call("POST", f"/universities/{_id(university_id)}/verify")

    def request_credit(self, body: dict) -> dict:
        return self.call("POST", "/credit-requests", json=body)

    def credit_requests(self, status=None, cursor=None, limit: int = 20) -> dict:
        return self.call("GET", "/credit-requests", params={"status": status, "cursor": cursor, "limit": limit})

    def decisions(self, cursor=None, limit: int = 20) -> dict:
        return self.call("GET", "/credit-decisions", params={"cursor": cursor, "limit": limit})

    def export_csv(self) -> requests.Response:
        return self.call("GET", "/credit-decisions/export", raw=True, accept="text/csv")

    def endorse(self, application_id: str, comment: str) -> dict:
        return self.call("POST", "/endorsements", json={"application_id": application_id, "comment": comment})

    def endorsements(self, application_id: str | None = None, credential_ids: Iterable[str] = ()) -> dict:
        if application_id is not None:
            return self.call("GET", "/endorsements", params={"application_id": application_id})
        return self.call("GET", "/endorsements", params={"credential_id": list(credential_ids)})

    def my_portfolio(self) -> dict:
        return self.call("GET", "/portfolios/me")

    def save_portfolio(self, body: dict) -> dict:
        return self.call("PUT", "/portfolios/me", json=body)

    def portfolio(self, handle: str) -> dict:
        return self.call("GET", f"/portfolios/{_id(handle)}")


class NotificationClient(ServiceClient):
    """The inbox, channel preferences and organisations' webhooks."""

    service = "notification"

    def inbox(self, unread: bool = False, cursor=None, limit: int = 20, timeout: float = TIMEOUT_SECONDS) -> dict:
        params = {"unread": 1 if unread else None, "cursor": cursor, "limit": limit}
        return self.call("GET", "/notifications", params=params, timeout=timeout)

    def mark_read(self, entry_id: str) -> dict:
        return self.call("POST", f"/notifications/{_id(entry_id)}/read")

    def preferences(self) -> dict:
        return self.call("GET", "/preferences")

    def set_preferences(self, body: dict) -> dict:
        return self.call("PUT", "/preferences", json=body)

    def webhooks(self, cursor=None, limit: int = 20) -> dict:
        return self.call("GET", "/webhooks", params={"cursor": cursor, "limit": limit})

    def create_webhook(self, body: dict) -> dict:
        return self.call("POST", "/webhooks", json=body)

    def delete_webhook(self, webhook_id: str) -> dict:
        return self.call("DELETE", f"/webhooks/{_id(webhook_id)}")

    def deliveries(self, webhook_id: str, cursor=None, limit: int = 20) -> dict:
        return self.call("GET", f"/webhooks/{_id(webhook_id)}/deliveries", params={"cursor": cursor, "limit": limit})


CLIENTS = {
    "listing": ListingClient,
    "application": ApplicationClient,
    "certification": CertificationClient,
    "notification": NotificationClient,
}


def client(service: str, token: str | None):
    """The client of `service`, calling as the bearer of `token` (None: anonymously)."""
    settings = current_app.extensions["stint_web_settings"]
    return CLIENTS[service](settings.service_urls[service], token)
