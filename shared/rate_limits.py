"""Rate limits on the public and sign-in endpoints, counted in shared storage across gunicorn workers and replicas.

The counting is the `limits` library's (the one beneath flask-limiter) with its moving-window strategy, in Redis
(STINT_RATE_LIMIT_STORAGE=redis://host:6379/0): every worker of every replica counts in the same place. The
platform's MongoDB cannot hold them: FerretDB 1.x has no TTL indexes nor aggregation pipelines, and there `limits`'
MongoDB storage let 80 of 50 allowed hits through from two processes (docs/rate-limits.md).

Which endpoint counts against which limit is one table (ENDPOINTS: Flask endpoint name -> limit name); a view
elsewhere joins by `@rate_limited("portfolio")`. Each limit is a setting, STINT_RATE_LIMIT_<NAME> ("60/minute",
"off"). The client is its IP address as the last STINT_TRUSTED_PROXIES proxies saw it (werkzeug's ProxyFix), never
a forwarded-for header a client wrote itself.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog
from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse
from limits.errors import ConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import ConfigError

log = structlog.get_logger(__name__)

# Limit name: (default, what it counts). Each client (IP address) gets its own count per limit.
LIMITS = {
    "search": ("300/minute", "searching published listings (the API's GET /listings; the web's home page)"),
    "verify": ("120/minute", "verifying a presented credential (POST /verify, /credentials/verify, the web's form)"),
    "verify_batch": ("20/minute", "verifying a batch of up to 500 credentials (POST /verify/batch)"),
    "verification_page": ("300/minute", "a credential's public verification page (GET /verify/<id>)"),
    "pdf": ("60/minute", "a credential's printable PDF certificate"),
    "portfolio": ("300/minute", "a student's public portfolio (GET /portfolios/<handle>, the web's page)"),
    "sign_in": ("30/minute", "the web's sign-in, sign-up and sign-in callback"),
}
# Flask endpoint (blueprint.view) -> limit name, for every app; endpoints an app lacks are simply never requested.
ENDPOINTS = {
    "listings.search_listings": "search",
    "verify.verify": "verify",
    "verify.verify_vc_api": "verify",
    "verify.verify_batch": "verify_batch",
    "verify.verification_page": "verification_page",
    "credentials.credential_pdf": "pdf",
    "portfolios.public_portfolio": "portfolio",
    "auth.sign_in": "sign_in",
    "auth.sign_up": "sign_in",
    "auth.callback": "sign_in",
    "public.home": "search",
    "public.verify": "verify",
    "public.verification": "verification_page",
    "public.portfolio": "portfolio",
}
MARK = "stint_rate_limit"
HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")
RESOLVE_SECONDS = 30


def rate_limited(name: str) -> Callable:
    """Count a view against limit `name` (one of LIMITS): put it right under the route decorator."""
    if name not in LIMITS:
        raise ValueError(f"unknown rate limit {name!r}; known: {', '.join(LIMITS)}")

    def mark(view: Callable) -> Callable:
        setattr(view, MARK, name)
        return view

    return mark


@dataclass(frozen=True)
class RateLimits:
    """The rate-limit settings of one process."""

    storage: str = "memory://"
    limits: Mapping[str, str] = field(default_factory=lambda: {name: value for name, (value, _) in LIMITS.items()})
    trusted_proxies: int = 0
    # Clients never counted: IP networks, or host names (resolved every RESOLVE_SECONDS), e.g. the web, which limits
    # its visitors itself and whose calls to the APIs all come from its own address.
    exempt: tuple[str, ...] = ()

    def item(self, name: str) -> RateLimitItem | None:
        """The parsed limit `name`, None when it is off."""
        value = self.limits.get(name, "off")
        return None if value == "off" else parse(value)


def load_rate_limits(environ: Mapping[str, str], env: str = "dev") -> RateLimits:
    """Read STINT_RATE_LIMIT_* and STINT_TRUSTED_PROXIES; production refuses to count in process memory."""
    limits = {}
    for name, (default, _) in LIMITS.items():
        key = f"STINT_RATE_LIMIT_{name.upper()}"
        value = environ.get(key, default).strip().lower() or default
        if value != "off":
            try:
                parse(value)
            except ValueError:
                raise ConfigError(f'{key} must read like "60/minute" (or "off"), not {value!r}') from None
        limits[name] = value
    storage = environ.get("STINT_RATE_LIMIT_STORAGE", "").strip()
    if env == "production" and (not storage or storage.startswith("memory")):
        raise ConfigError(
            "production counts rate limits across workers and replicas: set STINT_RATE_LIMIT_STORAGE=redis://host:6379/0"
        )
    hops = environ.get("STINT_TRUSTED_PROXIES", "0").strip() or "0"
    if not hops.isdigit():
        raise ConfigError(f"STINT_TRUSTED_PROXIES must be a whole number of proxies (0 or more), not {hops!r}")
    exempt = tuple(part.strip() for part in environ.get("STINT_RATE_LIMIT_EXEMPT", "").split(",") if part.strip())
    for entry in exempt:
        if not _is_network(entry) and not HOST_NAME.fullmatch(entry):
            raise ConfigError(f"STINT_RATE_LIMIT_EXEMPT lists IP networks or host names, not {entry!r}")
    return RateLimits(storage=storage or "memory://", limits=limits, trusted_proxies=int(hops), exempt=exempt)


class Counter:
    """Counts hits of each client against each limit in the configured storage."""

    def __init__(self, settings: RateLimits, service: str):
        self.settings, self.service = settings, service
        try:
            self.storage: Storage = storage_from_string(settings.storage)
        except ConfigurationError as exc:
            raise ConfigError(f"STINT_RATE_LIMIT_STORAGE is not usable: {exc}") from None
        self.limiter = MovingWindowRateLimiter(self.storage)
        if settings.storage.startswith("memory"):
            log.warning("rate_limits_in_process_memory", reason="STINT_RATE_LIMIT_STORAGE is unset; counts per process")

    def retry_after(self, name: str, client: str) -> int | None:
        """Count one hit; None when allowed, else the seconds until the next one is (when storage fails: allowed)."""
        item = self.settings.item(name)
        if item is None:
            return None
        keys = (self.service, name, client)
        try:
            if self.limiter.hit(item, *keys):
                return None
            reset = self.limiter.get_window_stats(item, *keys).reset_time
        except Exception as exc:  # noqa: BLE001 - storage down: serve rather than refuse everyone
            log.warning("rate_limit_storage_unavailable", error=str(exc)[:300])
            return None
        log.info("rate_limited", limit=name, client=client)
        return max(1, math.ceil(reset - time.time()))


def limit_for(endpoint: str | None) -> str | None:
    """The limit the current request's endpoint counts against, if any."""
    if not endpoint:
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, MARK, None) or ENDPOINTS.get(endpoint)


def install(app: Flask, settings: RateLimits, service: str, refuse: Callable[[int, str], Response]) -> Counter:
    """Count the app's limited endpoints; over a limit, `refuse(retry_after_seconds, limit_name)` answers (a 429)."""
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)
    counter = Counter(settings, service)
    exemptions = Exemptions(settings.exempt)
    app.extensions["stint_rate_limits"] = counter

    def check():
        name = limit_for(request.endpoint)
        client = request.remote_addr or "unknown"
        if name is None or exemptions.cover(client):
            return None
        seconds = counter.retry_after(name, client)
        if seconds is None:
            return None
        response = refuse(seconds, name)
        response.headers["Retry-After"] = str(seconds)
        return response

    app.before_request(check)
    return counter


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry)
    except ValueError:
        return False
    return True


class Exemptions:
    """The clients never counted: networks as given, host names as they resolve now (a replica may come and go)."""

    def __init__(self, entries: tuple[str, ...]):
        self.networks = [ipaddress.ip_network(entry) for entry in entries if _is_network(entry)]
        self.names = [entry for entry in entries if not _is_network(entry)]
        self._addresses: set = set()
        self._resolved_at = -math.inf

    def cover(self, client: str) -> bool:
        """True when `client` (an IP address) is exempt."""
        if not (self.networks or self.names):
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.networks) or address in self._resolved()

    def _resolved(self) -> set:
        if self.names and time.monotonic() - self._resolved_at > RESOLVE_SECONDS:
            addresses = set()
            for name in self.names:
                try:
                    addresses |= {ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(name, None)}
                except OSError as exc:  # not up yet, or gone: nothing of it is exempt until it resolves
                    log.warning("rate_limit_exempt_name_unresolved", name=name, error=str(exc)[:200])
            self._addresses, self._resolved_at = addresses, time.monotonic()
        return self._addresses


def too_many_requests(seconds: int, name: str) -> Response:
    """The APIs' 429, in the one error shape."""
    from shared.errors import error_response

    return error_response(
        429,
        "too_many_requests",
        f"too many requests; retry after {seconds} seconds",
        {"limit": name, "retry_after_seconds": seconds},
        {"Retry-After": str(seconds)},
    )
