"""Headers every answer carries: a strict Content-Security-Policy (no inline script or style, nothing from
elsewhere), no framing, no sniffing, no referrer leaks; pages of signed-in people are never cached."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, session


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(keycloak_url: str) -> str:
    """The policy: only this site's own files; forms post here or to Keycloak (sign-out redirects there)."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action 'self' {origin_of(keycloak_url)}",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(settings):
    """An after_request hook adding the headers to every response."""
    policy = content_security_policy(settings.browser_keycloak_url)

    def add(response):
        headers = response.headers
        headers["Content-Security-Policy"] = policy
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if settings.secure_cookies:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if not request.path.startswith("/static/") and session.get("tokens"):
            headers["Cache-Control"] = "no-store"
        return response

    return add
