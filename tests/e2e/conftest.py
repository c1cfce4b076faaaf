"""The whole platform as real processes: every service's api under gunicorn and its worker, and the web, started
once for the e2e session on the session's real Kafka, FerretDB and Keycloak, with its own databases and topics; all
mail (the services' and Keycloak's) goes to the session's one SMTP catcher."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from devservers import free_port
from devservers.platform_processes import SERVICE_PORTS, ServiceProcess, isolated_env, platform_processes, started
from tests.conftest import TEST_SECRET
from tests.support.keycloak import TestKeycloak
from tests.support.smtp import MailCatcher

READY_TIMEOUT = 90


@dataclass
class Platform:
    """The running platform: the services' base URLs, processes by name (to kill and restart), the mail received,
    the web's URL and the Keycloak it signs people in with."""

    urls: dict[str, str]
    processes: dict[str, ServiceProcess]
    mail: MailCatcher
    env: dict[str, str]
    run_dir: Path
    web_url: str
    keycloak: TestKeycloak | None
    http: requests.Session = field(default_factory=requests.Session)

    def url(self, service: str, path: str = "") -> str:
        """The URL of `path` on a service."""
        return self.urls[service] + path

    def restart(self, name: str) -> None:
        """Start a process again (after a kill or a stop) and wait until it is ready."""
        process = self.processes[name]
        process.start(wait=True, timeout=READY_TIMEOUT)


@contextlib.contextmanager
def running_platform(
    bootstrap: str, mongo_url: str, mail: MailCatcher, run_dir: Path, keycloak: TestKeycloak | None = None, **env_extra
) -> Iterator[Platform]:
    """Every service's api and worker on the given servers, with databases and topics of their own, and the web when
    a Keycloak signs people in; `env_extra` adds settings. Stopped at the end."""
    namespace = "e2e" + uuid.uuid4().hex[:8]
    ports = {name: free_port() for name in SERVICE_PORTS}
    env = isolated_env(namespace, bootstrap, mongo_url, ports, run_dir, TEST_SECRET, mail.url)
    env.update(STINT_WEBHOOK_BACKOFF_SECONDS="0.2", **env_extra)
    web_port = {}
    if keycloak is not None:
        env.update(keycloak.env(), STINT_WEB_SESSION_SECRET=uuid.uuid4().hex * 2)
        web_port = {"web": keycloak.web_port}  # the port Keycloak's realm lets stint-web redirect to
    processes = platform_processes(run_dir, env, ports | web_port, mail_catcher=False, owned_by_caller=True)
    with started(processes, READY_TIMEOUT) as by_name:
        yield Platform(
            urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
            processes=by_name,
            mail=mail,
            env=env,
            run_dir=run_dir,
            web_url=keycloak.web_url if keycloak is not None else "",
            keycloak=keycloak,
        )


@pytest.fixture(scope="session")
def platform(servers, keycloak, mail, tmp_path_factory):
    """Start every service's api and worker, and the web, once for the e2e tests; stop them at the end."""
    run_dir = tmp_path_factory.mktemp("platform")
    with running_platform(servers.bootstrap, servers.mongo_url, mail, run_dir, keycloak) as running:
        yield running
