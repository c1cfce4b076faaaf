"""A web app on an in-memory session store, with no service reachable (unit tests of the web's own logic)."""

from __future__ import annotations

import pytest

from services.web.app import create_app
from tests.unit.web.fakes import FakeSessionCollection

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture
def sessions():
    return FakeSessionCollection()


@pytest.fixture
def app(sessions):
    config = dict(
        environ={},
        env="test",
        session_secret="unit-test-session-secret",
        client_secret="unit-test-client-secret",
        keycloak_url="http://127.0.0.1:9",
        service_urls={name: UNREACHABLE for name in ("listing", "application", "certification", "notification")},
    )
    app = create_app(config, session_collection=sessions)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()
