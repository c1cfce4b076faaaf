"""docker-compose.yml stays valid and complete for operators (checked without a Docker engine)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("listing", "application", "certification", "notification")
# What an operator's .env must hold (`make up` writes them all); compose refuses to run without any one.
SECRETS = (
    "STINT_AUTH_SECRET",
    "STINT_KEYCLOAK_ADMIN_PASSWORD",
    "STINT_KEYCLOAK_DB_PASSWORD",
    "STINT_WEB_CLIENT_SECRET",
    "STINT_WEB_SESSION_SECRET",
    "STINT_ACCOUNTS_CLIENT_SECRET",
)

pytestmark = pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose (Debian package) is not installed; `make tools` installs it",
)


def compose(*args: str, without: str | None = None) -> subprocess.CompletedProcess:
    """docker-compose with every secret but `without` set: no other STINT_* variable and no developer's .env leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STINT_")}
    env.update({name: "x" * 40 for name in SECRETS if name != without})
    with tempfile.NamedTemporaryFile(suffix=".env") as empty_env_file:
        command = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "--env-file", empty_env_file.name, *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_compose_file_is_valid():
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("secret", SECRETS)
def test_the_compose_file_refuses_to_run_without_a_secret(secret):
    result = compose("config", "-q", without=secret)
    assert result.returncode != 0
    assert secret in result.stderr


def test_every_service_runs_its_api_and_worker_with_health_checks_and_restarts():
    config = yaml.safe_load(compose("config").stdout)
    services = config["services"]
    for name in SERVICES:
        api, worker = services[f"{name}-api"], services[f"{name}-worker"]
        assert api["healthcheck"]["test"], name
        assert worker["command"][-1] == f"services.{name}.worker"
        assert "localhost:9100/readyz" in " ".join(worker["healthcheck"]["test"]), name
        assert worker["environment"]["STINT_WORKER_PORT"] == "9100"
        assert api["restart"] == worker["restart"] == "unless-stopped"
        assert api["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert api["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert (ROOT / api["build"]["dockerfile"]).exists() or (ROOT / "services" / name / "Dockerfile").exists()
        assert api["depends_on"]["keycloak"]["condition"] == "service_healthy"
        assert (
            api["environment"]["STINT_AUTH_JWKS_URL"]
            == "http://keycloak:8080/realms/stint/protocol/openid-connect/certs"
        )
        assert api["environment"]["STINT_AUTH_ISSUER"] == "http://localhost:8080/realms/stint"
        assert api["environment"]["STINT_AUTH_AUDIENCE"] == "stint-api"
        assert ("STINT_ACCOUNTS_CLIENT_SECRET" in api["environment"]) == (name == "listing")
    assert {"kafka", "mongo", "mailpit", "keycloak", "keycloak-db"} <= set(services)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert set(config["volumes"]) >= {"kafka-data", "mongo-data", "keycloak-db"}


def test_the_web_serves_people_on_port_8000_signing_them_in_through_keycloak():
    web = yaml.safe_load(compose("config").stdout)["services"]["web"]
    assert web["build"]["dockerfile"] == "services/web/Dockerfile"
    assert web["restart"] == "unless-stopped" and "localhost:8000/healthz" in " ".join(web["healthcheck"]["test"])
    assert [str(port["published"]) for port in web["ports"]] == ["8000"]
    assert web["environment"]["STINT_KEYCLOAK_URL"] == "http://keycloak:8080"
    assert web["environment"]["STINT_KEYCLOAK_PUBLIC_URL"] == "http://localhost:8080"
    assert web["environment"]["STINT_LISTING_URL"] == "http://listing-api:8001"
    assert web["depends_on"]["keycloak"]["condition"] == "service_healthy"


def test_keycloak_imports_the_realm_file_and_keeps_its_data_in_postgresql():
    services = yaml.safe_load(compose("config").stdout)["services"]
    keycloak, database = services["keycloak"], services["keycloak-db"]
    assert keycloak["image"] == "quay.io/keycloak/keycloak:26.4.7"
    assert keycloak["command"] == ["start", "--import-realm"]
    realm = ROOT / "identity" / "stint-realm.json"
    assert f"{realm}:/opt/keycloak/data/import/stint-realm.json:ro" in keycloak["volumes"]
    environment = keycloak["environment"]
    assert environment["KC_DB"] == "postgres" and "keycloak-db" in environment["KC_DB_URL"]
    assert environment["KC_HOSTNAME"] == "http://localhost:8080"  # the issuer, whatever Host a caller uses
    assert "/health/ready" in " ".join(keycloak["healthcheck"]["test"])
    assert keycloak["depends_on"]["keycloak-db"]["condition"] == "service_healthy"
    assert database["image"] == "postgres:15" and database["healthcheck"]["test"]
    # Every placeholder in the realm file without a default gets a value.
    placeholders = set(re.findall(r"\$\{(STINT_[A-Z_]+)\}", realm.read_text()))
    assert placeholders and placeholders <= set(environment)
