"""The web's sign-in paths and public pages are rate-limited: over a limit a visitor sees a friendly 429 page with
Retry-After (counted in process memory here; tests/integration/shared/test_rate_limits.py counts in Redis)."""

from __future__ import annotations

import pytest

from services.web.app import create_app
from shared.rate_limits import RateLimits
from tests.unit.web.conftest import UNREACHABLE
from tests.unit.web.fakes import FakeSessionCollection


@pytest.fixture
def client():
    config = dict(
        environ={},
        env="test",
        session_secret="unit-test-session-secret",
        client_secret="unit-test-client-secret",
        keycloak_url=UNREACHABLE,
        service_urls={name: UNREACHABLE for name in ("listing", "application", "certification", "notification")},
        rate_limits=RateLimits(limits={"sign_in": "2/minute", "verification_page": "1/minute", "portfolio": "1/hour"}),
    )
    return create_app(config, session_collection=FakeSessionCollection()).test_client()


def test_a_third_sign_in_within_the_minute_gets_a_page_saying_how_long_to_wait(client):
    assert client.get("/auth/sign-in").status_code != 429
    assert client.get("/auth/sign-up").status_code != 429  # sign-in and sign-up share one count
    page = client.get("/auth/callback?code=x&state=y")
    assert page.status_code == 429
    seconds = int(page.headers["Retry-After"])
    assert 1 <= seconds <= 60
    text = page.get_data(as_text=True)
    assert "Too many tries" in text and f"Wait {seconds} second" in text
    assert client.get("/auth/sign-in", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code != 429


@pytest.mark.parametrize("page", ["/verify/abc", "/portfolios/asha"])
def test_the_public_verification_and_portfolio_pages_are_limited_too(client, page):
    assert client.get(page).status_code != 429
    assert client.get(page).status_code == 429
    assert client.get("/healthz").status_code == 200  # not limited
