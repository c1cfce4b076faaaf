"""The running platform's public HTTP APIs as the demo calls them: who calls, and which answer a step expects."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

from devservers.platform_processes import SERVICE_PORTS
from shared.auth import mint_token

DEFAULT_URLS = {name: f"http://127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()}
POLL_INTERVAL_SECONDS = 0.25
TOKEN_TTL_SECONDS = 2 * 3600
T = TypeVar("T")


class StoryFailed(Exception):
    """A step did not turn out as the story expects; the message says which step and what the platform answered."""


class PlatformDown(StoryFailed):
    """A service does not answer, or answers that it is not ready: the platform is not up."""


@dataclass(frozen=True)
class Person:
    """Someone in the story, with the bearer token the platform knows them by."""

    name: str
    role: str
    sub: str
    token: str
    org: str | None = None
    email: str = ""

    @property
    def first_name(self) -> str:
        """How the story calls them."""
        return self.name.split()[0]


def person(secret: str, name: str, role: str, sub: str, org: str | None = None, email: str = "") -> Person:
    """A person with a token signed by the platform's secret."""
    token = mint_token(secret, sub, role, org=org, name=name, email=email, ttl_seconds=TOKEN_TTL_SECONDS)
    return Person(name=name, role=role, sub=sub, token=token, org=org, email=email)


class Platform:
    """HTTP calls to the four services; any answer other than the expected one stops the story with a reason."""

    def __init__(self, urls: dict[str, str], wait_seconds: float = 60.0, request_seconds: float = 20.0):
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.wait_seconds = wait_seconds
        self.request_seconds = request_seconds
        self.http = requests.Session()

    def request(
        self, service: str, method: str, path: str, who: Person | None = None, body=None, **kwargs
    ) -> requests.Response:
        """One HTTP request as `who` (anonymous when None); a service that does not answer means it is down."""
        headers = kwargs.pop("headers", {})
        if who is not None:
            headers["Authorization"] = f"Bearer {who.token}"
        url = self.urls[service] + path
        try:
            return self.http.request(method, url, json=body, headers=headers, timeout=self.request_seconds, **kwargs)
        except requests.ConnectionError:
            raise PlatformDown(
                f"the {service} service does not answer at {self.urls[service]}: run `make up` first"
            ) from None
        except requests.Timeout:
            raise StoryFailed(
                f"{method} {path} on the {service} service took over {self.request_seconds:g} s"
            ) from None

    def call(
        self, service: str, method: str, path: str, who: Person | None = None, body=None, expect: int = 200, **kwargs
    ) -> requests.Response:
        """A request whose answer must have status `expect`."""
        response = self.request(service, method, path, who, body, **kwargs)
        if response.status_code != expect:
            caller = who.name if who else "anonymous"
            raise StoryFailed(
                f"{method} {path} on the {service} service (as {caller}) answered {response.status_code}, "
                f"expected {expect}: {describe_error(response)}"
            )
        return response

    def json(self, service: str, method: str, path: str, who: Person | None = None, body=None, expect: int = 200):
        """The JSON answer of a request that must have status `expect`."""
        return self.call(service, method, path, who, body, expect).json()

    def check_up(self) -> None:
        """Every service answers and is ready (database and broker reachable), else PlatformDown."""
        for service in self.urls:
            response = self.request(service, "GET", "/readyz")
            if response.status_code != 200:
                raise PlatformDown(
                    f"the {service} service at {self.urls[service]} is not ready ({response.text.strip()[:200]}): "
                    "run `make up` first, or wait for it to finish starting"
                )

    def wait_for(self, what: str, probe: Callable[[], T | None]) -> T:
        """Call `probe` until it returns something truthy (an asynchronous effect arrived), within the deadline."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            outcome = probe()
            if outcome:
                return outcome
            if time.monotonic() >= deadline:
                raise StoryFailed(f"gave up after {self.wait_seconds:g} s waiting for {what}")
            time.sleep(POLL_INTERVAL_SECONDS)


def describe_error(response: requests.Response) -> str:
    """The platform's error message (one error shape everywhere), with a hint for a token it does not accept."""
    try:
        error = response.json()["error"]
        text = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:300] or response.reason
    if response.status_code == 401:
        text += " (is STINT_AUTH_SECRET the one the platform runs with? `make up` keeps it in .env)"
    return text
