"""The Stint services themselves for `make up`: each service's api (gunicorn) and worker, and a mail catcher."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from shared.rate_limits import LIMITS

from ._process import ManagedServer, free_port, tcp_open

ROOT = Path(__file__).resolve().parent.parent
SERVICE_PORTS = {"listing": 8001, "application": 8002, "certification": 8003, "notification": 8004}
# Each worker answers /healthz, /readyz and /metrics here (STINT_WORKER_PORT).
WORKER_PORTS = {"listing": 9101, "application": 9102, "certification": 9103, "notification": 9104}
MAIL_PORT = 1025
WEB_PORT = 8000
KEYCLOAK_URL = "http://127.0.0.1:8080"
# Settings the first run writes into .env, and adds to an older .env that lacks them.
DOTENV_DEFAULTS = {
    "STINT_KEYCLOAK_URL": KEYCLOAK_URL,
    "STINT_KEYCLOAK_REALM": "stint",
    "STINT_AUTH_ISSUER": f"{KEYCLOAK_URL}/realms/stint",
    "STINT_AUTH_AUDIENCE": "stint-api",
    "STINT_AUTH_JWKS_URL": f"{KEYCLOAK_URL}/realms/stint/protocol/openid-connect/certs",
    "STINT_WEB_URL": f"http://127.0.0.1:{WEB_PORT}",
    "STINT_WEB_CLIENT_ID": "stint-web",
    "STINT_ACCOUNTS_CLIENT_ID": "stint-accounts",
    "STINT_ADMIN_EMAIL": "admin@stint.local",
}
# Secrets the first run generates into .env (name: random bytes), and adds to an older .env that lacks them.
GENERATED_SECRETS = {
    "STINT_WEB_SESSION_SECRET": 48,
    "STINT_WEB_CLIENT_SECRET": 32,
    "STINT_ACCOUNTS_CLIENT_SECRET": 32,
    "STINT_KEYCLOAK_ADMIN_PASSWORD": 18,
    "STINT_ADMIN_PASSWORD": 12,  # Stint's first admin types it: shorter, still 96 random bits
    "STINT_KEYCLOAK_DB_PASSWORD": 24,  # docker-compose's PostgreSQL for Keycloak
}
GUNICORN_WORKERS = 2


def installed_services() -> list[str]:
    """The services that exist in this checkout (an app and a worker to run)."""
    return [name for name in SERVICE_PORTS if (ROOT / "services" / name / "wsgi.py").exists()]


def ensure_dotenv(path: Path = ROOT / ".env") -> dict[str, str]:
    """Create .env on first run, add what an older one lacks (never overwriting a value); return its values."""
    from dotenv import dotenv_values

    if not path.exists():
        path.write_text(
            "# Local settings written by `make up` on first run; git-ignored. Delete it to start afresh.\n"
            f"STINT_ENV=dev\nSTINT_AUTH_SECRET={secrets.token_urlsafe(48)}\n"
            f"STINT_PUBLIC_URL=http://127.0.0.1:{SERVICE_PORTS['certification']}\n"
            f"STINT_SIGNING_KEY_DIR={ROOT / '.run' / 'keys'}\n"
            f"STINT_SMTP_URL=smtp://127.0.0.1:{MAIL_PORT}\n"
        )
        path.chmod(0o600)
    values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    missing = {name: value for name, value in DOTENV_DEFAULTS.items() if not values.get(name)}
    missing.update({name: secrets.token_urlsafe(n) for name, n in GENERATED_SECRETS.items() if not values.get(name)})
    if missing:
        set_dotenv(missing, path)
    return {**values, **missing}


def set_dotenv(values: dict[str, str], path: Path = ROOT / ".env") -> None:
    """Record values (e.g. the servers' addresses) in .env, where people and tools find them."""
    from dotenv import set_key

    for key, value in values.items():
        set_key(str(path), key, value, quote_mode="never")


class ServiceProcess(ManagedServer):
    """One process of a service (api or worker) or the mail catcher, logging under .run/logs."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        run_dir: Path,
        port: int | None = None,
        parent_death_signal: bool = False,
    ):
        super().__init__(run_dir / "logs" / name, parent_death_signal=parent_death_signal)
        self.name, self.command, self.env, self.port = name, command, env, port
        self.state_file = "process.json"

    def _prepare(self) -> list[str]:
        return self.command

    def _cwd(self) -> Path:
        return ROOT

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def _probe(self) -> bool:
        if self.port is None:
            return self.is_running()
        if not tcp_open(self.port):
            return False
        if self.name == "mail":
            return True
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


def platform_processes(
    run_dir: Path,
    env: dict[str, str],
    ports: dict[str, int] | None = None,
    mail_catcher: bool = True,
    owned_by_caller: bool = False,
) -> list[ServiceProcess]:
    """The mail catcher (unless the caller runs its own), then every installed service's api and worker.

    `owned_by_caller`: the processes die with the calling process (tests); else they outlive it (`make up`).
    """
    python = sys.executable
    worker_ports = WORKER_PORTS if ports is None else {name: free_port() for name in WORKER_PORTS}
    ports = ports or SERVICE_PORTS
    processes = []
    if mail_catcher:
        smtpd = [python, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{MAIL_PORT}", "-c", "aiosmtpd.handlers.Debugging"]
        processes.append(ServiceProcess("mail", smtpd, env, run_dir, MAIL_PORT, owned_by_caller))
    for name in installed_services():
        port = ports[name]
        metrics_dir = run_dir / "metrics" / name
        metrics_dir.mkdir(parents=True, exist_ok=True)
        service_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        gunicorn = gunicorn_command(f"services.{name}.wsgi:app", port)
        worker = [python, "-m", f"services.{name}.worker"]
        processes.append(ServiceProcess(f"{name}-api", gunicorn, service_env, run_dir, port, owned_by_caller))
        worker_env = {**service_env, "STINT_WORKER_PORT": str(worker_ports[name])}
        processes.append(
            ServiceProcess(f"{name}-worker", worker, worker_env, run_dir, worker_ports[name], owned_by_caller)
        )
    web = web_process(run_dir, env, ports, owned_by_caller, worker_ports)
    return processes + ([web] if web else [])


def web_process(
    run_dir: Path,
    env: dict[str, str],
    ports: dict[str, int],
    owned_by_caller: bool = False,
    worker_ports: dict[str, int] | None = None,
) -> ServiceProcess | None:
    """The web front door (an api process, no worker), calling the services on their ports; None until the
    checkout has it and Keycloak's stint-web client secret is set (the web cannot sign anyone in without it)."""
    if not (ROOT / "services" / "web" / "wsgi.py").exists() or not env.get("STINT_WEB_CLIENT_SECRET"):
        return None
    port = ports.get("web", WEB_PORT)
    web_env = {
        **env,
        "STINT_WEB_URL": env.get("STINT_WEB_URL") or f"http://127.0.0.1:{port}",
        **{f"STINT_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICE_PORTS if name in ports},
        **{
            f"STINT_{name.upper()}_WORKER_URL": f"http://127.0.0.1:{port}"
            for name, port in (worker_ports or {}).items()
        },
    }
    command = gunicorn_command("services.web.wsgi:app", port)
    return ServiceProcess("web-api", command, web_env, run_dir, port, owned_by_caller)


def gunicorn_command(app: str, port: int) -> list[str]:
    """The gunicorn command line of the platform's api processes, for any WSGI app."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(GUNICORN_WORKERS),
        "--access-logfile",
        "-",
        "--timeout",
        "30",
    ]


def isolated_env(
    namespace: str,
    bootstrap: str,
    mongo_url: str,
    ports: dict[str, int],
    run_dir: Path,
    secret: str,
    smtp_url: str = "",
) -> dict[str, str]:
    """Settings for a platform of its own on shared servers: databases and topics prefixed by `namespace`."""
    return {
        "STINT_ENV": "test",
        "STINT_AUTH_SECRET": secret,
        "STINT_KAFKA_BOOTSTRAP": bootstrap,
        "STINT_MONGO_URL": mongo_url,
        "STINT_MONGO_DB": namespace + "_{service}",
        "STINT_TOPIC_PREFIX": namespace + ".",
        "STINT_PUBLIC_URL": f"http://127.0.0.1:{ports['certification']}",
        "STINT_SMTP_URL": smtp_url,
        "STINT_SIGNING_KEY_DIR": str(run_dir / "keys"),
        # The rate limits are off: the e2e tests and the benchmark send far more than a person would from one
        # address (tests/integration/shared/test_rate_limits.py counts them on real gunicorn workers and Redis).
        **{f"STINT_RATE_LIMIT_{name.upper()}": "off" for name in LIMITS},
    }


@contextlib.contextmanager
def started(processes: list[ServiceProcess], timeout: float) -> Iterator[dict[str, ServiceProcess]]:
    """Start the processes together, wait until each is ready, yield them by name; stop them all at the end."""
    try:
        for process in processes:
            process.start(wait=False)
        for process in processes:
            process.wait_ready(timeout)
        yield {process.name: process for process in processes}
    finally:
        for process in reversed(processes):
            process.stop()
