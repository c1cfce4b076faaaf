"""Webhook endpoints: which URLs may be called, and one signed call with a timeout."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from services.notification.domain import signature

USER_AGENT = "Stint-Webhooks/1.0"
Resolver = Callable[..., list]


class UnsafeUrl(ValueError):
    """A webhook URL the platform refuses to call."""


def _is_public(address: str) -> bool:
    """True for an address on the public internet (not loopback, private, link-local, reserved...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def check_url(url: str, *, production: bool, resolve: Resolver = socket.getaddrinfo) -> None:
    """Raise UnsafeUrl unless `url` is http(s) and, in production, every address it resolves to is public.

    Outside production, loopback and private hosts are allowed so local receivers work in dev and tests.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("a webhook URL must be an http or https URL with a host")
    if parts.username or parts.password:
        raise UnsafeUrl("a webhook URL must not carry credentials; sign with the secret instead")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("the webhook URL's port is not valid") from None
    if not production:
        return
    try:
        addresses = {info[4][0] for info in resolve(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        raise UnsafeUrl(f"the host {parts.hostname!r} does not resolve") from None
    if not addresses:
        raise UnsafeUrl(f"the host {parts.hostname!r} does not resolve")
    blocked = sorted(a for a in addresses if not _is_public(a))
    if blocked:
        raise UnsafeUrl(f"the host {parts.hostname!r} resolves to a non-public address ({', '.join(blocked)})")


@dataclass(frozen=True)
class CallResult:
    """What one webhook call did."""

    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def call_endpoint(
    url: str, body: bytes, secret: str, delivery_id: str, event_type: str, timeout: float, production: bool
) -> CallResult:
    """POST a signed event body once; any answer but 2xx, or no answer in time, is a failure."""
    started = time.monotonic()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Stint-Signature": signature(body, secret),
        "X-Stint-Delivery": delivery_id,
        "X-Stint-Event-Type": event_type,
    }
    try:
        # Checked again at send time: DNS may have changed since the endpoint was registered.
        check_url(url, production=production)
        # Redirects are not followed: they could point the platform at an internal address.
        # stream=True: the answer's body is never read, so a huge one cannot exhaust memory.
        response = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
        response.close()
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        return CallResult(ok, response.status_code, error, _elapsed_ms(started))
    except UnsafeUrl as exc:
        return CallResult(False, None, f"refused: {exc}", _elapsed_ms(started))
    except requests.Timeout:
        return CallResult(False, None, f"timed out after {timeout:g}s", _elapsed_ms(started))
    except requests.RequestException as exc:
        return CallResult(False, None, f"{type(exc).__name__}: {str(exc)[:200]}", _elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
