"""Fixtures shared by every test: the real servers (started once per run), settings and tokens."""

from __future__ import annotations

import os
import uuid

import pytest

from shared.auth import mint_token
from shared.config import load_settings

TEST_SECRET = "stint-test-secret-" + "x" * 32
_servers = None


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """Real Kafka and MongoDB-compatible servers: external, testcontainers or provisioned."""
    global _servers
    from devservers.pytest_support import provide_servers

    _servers = provide_servers(tmp_path_factory.mktemp("servers"))
    yield _servers
    _servers.close()


@pytest.fixture(scope="session")
def mail():
    """A real SMTP server for the session (Keycloak's mail goes here); `mail.to(address)` reads what arrived."""
    from tests.support.smtp import smtp_server

    with smtp_server() as catcher:
        yield catcher


@pytest.fixture(scope="session")
def redis(tmp_path_factory):
    """A real Redis (Debian's redis-server) where apps count rate limits, started on first use, once per run."""
    from devservers.redis import RedisServer, redis_binary

    if redis_binary() is None:
        pytest.fail("redis-server is not installed: `make tools` (or apt-get install -y redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start(timeout=30)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keycloak(mail, tmp_path_factory):
    """Real Keycloak with the stint realm on free ports, started on first use, once per run."""
    from tests.support.keycloak import running_keycloak

    with running_keycloak(tmp_path_factory.mktemp("keycloak"), mail) as kc:
        yield kc


@pytest.fixture
def namespace():
    """A fresh name so each test has its own database and topics on the shared servers."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def settings_for(servers, namespace):
    """Build a service's Settings pointing at the real servers, isolated by `namespace`."""

    def build(service: str, **overrides):
        values = dict(
            kafka_bootstrap=servers.bootstrap,
            mongo_url=servers.mongo_url,
            mongo_db=f"{namespace}_{service}",
            topic_prefix=f"{namespace}.",
            auth_secret=TEST_SECRET,
            env="test",
            public_url="http://verify.stint.test",
            publish_on_write=False,  # tests publish by hand (tests/support/pipeline.py); shared's tests turn it on
        )
        values.update(overrides)
        return load_settings(service, environ={}, **values)

    return build


@pytest.fixture
def token():
    """Mint a bearer token for a role: token("employer", sub="u1", org="acme")."""

    def mint(role: str, sub: str | None = None, org: str | None = None, name: str = "", email: str = "", **extra):
        sub = sub or f"{role}-{uuid.uuid4().hex[:6]}"
        return mint_token(
            TEST_SECRET, sub, role, org=org, name=name or sub.title(), email=email or f"{sub}@example.org", **extra
        )

    return mint


def auth_header(bearer: str) -> dict:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {bearer}"}


def pytest_terminal_summary(terminalreporter):
    """Say how many tests ran against which real servers."""
    stats = terminalreporter.stats
    ran = [r for key in ("passed", "failed", "error") for r in stats.get(key, []) if getattr(r, "when", "") == "call"]
    with_servers = [r for r in ran if "servers" in getattr(r, "stint_fixtures", ())]
    where = _servers.kind if _servers is not None else "none (no test needed them)"
    terminalreporter.write_line(f"stint: {len(ran)} tests ran; {len(with_servers)} against real servers: {where}")
    with_keycloak = [r for r in ran if "keycloak" in getattr(r, "stint_fixtures", ())]
    if with_keycloak:
        from devservers.build import KEYCLOAK_VERSION

        terminalreporter.write_line(f"stint: {len(with_keycloak)} against a real Keycloak {KEYCLOAK_VERSION}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember which fixtures a test used, for the summary line."""
    outcome = yield
    report = outcome.get_result()
    report.stint_fixtures = tuple(item.fixturenames)


os.environ.setdefault("STINT_ENV", "test")
