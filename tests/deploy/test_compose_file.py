"""docker-compose.yml and its production override, docker-compose.prod.yml, stay valid and complete for operators
(checked without a Docker engine)."""

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


PROD_FILES = ("docker-compose.yml", "docker-compose.prod.yml")
PROD_EXAMPLE = ROOT / ".env.prod.example"


def prod_env_file() -> dict[str, str]:
    """.env.prod.example as an operator fills it in: every line given a value (secrets a fresh random-looking one)."""
    names = re.findall(r"^(STINT_[A-Z_]+)=", PROD_EXAMPLE.read_text(), flags=re.MULTILINE)
    https = {"STINT_WEB_URL", "STINT_PUBLIC_URL", "STINT_KEYCLOAK_PUBLIC_URL"}
    return {name: f"https://{name.lower()}.example" if name in https else f"filled-{name.lower()}" for name in names}


def compose_prod(*args: str, without: str | None = None) -> subprocess.CompletedProcess:
    """docker-compose with both files and the filled-in example env file (less `without`), nothing from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STINT_")}
    values = {name: value for name, value in prod_env_file().items() if name != without}
    with tempfile.NamedTemporaryFile("w", suffix=".env") as env_file:
        env_file.write("".join(f"{name}={value}\n" for name, value in values.items()))
        env_file.flush()
        files = [option for name in PROD_FILES for option in ("-f", str(ROOT / name))]
        command = ["docker-compose", "--env-file", env_file.name, *files, *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def prod_config() -> dict:
    result = compose_prod("config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


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


# ---- the production profile ------------------------------------------------------------------------------------

CLUSTER_MONGO_URL = (
    "mongodb://mongo:27017,mongo-2:27017,mongo-3:27017/?replicaSet=rs0&w=majority&readConcernLevel=majority"
)
APPS = [f"{name}-{role}" for name in SERVICES for role in ("api", "worker")]


def test_the_production_profile_is_valid_with_the_example_env_file_filled_in():
    result = compose_prod("config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_production_profile_refuses_to_run_without_any_line_of_the_env_file():
    required = set(re.findall(r"\$\{(STINT_[A-Z_]+):\?", "".join((ROOT / f).read_text() for f in PROD_FILES)))
    assert required <= set(prod_env_file()), "the example env file misses " + ", ".join(required - set(prod_env_file()))
    for name in sorted(required):
        result = compose_prod("config", "-q", without=name)
        assert result.returncode != 0 and name in result.stderr, name


def test_production_runs_three_kafka_brokers_replicating_every_topic_three_times():
    services = prod_config()["services"]
    brokers = [services[name] for name in ("kafka", "kafka-2", "kafka-3")]
    assert sorted(broker["environment"]["KAFKA_NODE_ID"] for broker in brokers) == [1, 2, 3]
    for broker in brokers:
        environment = broker["environment"]
        assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert (
            environment["KAFKA_DEFAULT_REPLICATION_FACTOR"]
            == environment["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]
            == 3
        )
        assert environment["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert environment["CLUSTER_ID"] == "filled-stint_kafka_cluster_id"
    assert len({str(broker["volumes"]) for broker in brokers}) == 3  # each its own log
    for name in APPS:
        environment = services[name]["environment"]
        assert environment["STINT_KAFKA_BOOTSTRAP"] == "kafka:9092,kafka-2:9092,kafka-3:9092", name
        assert (environment["STINT_KAFKA_REPLICATION_FACTOR"], environment["STINT_KAFKA_MIN_INSYNC_REPLICAS"]) == (
            "3",
            "2",
        )
        assert {"kafka", "kafka-2", "kafka-3"} <= set(services[name]["depends_on"]), name


def test_production_keeps_data_in_a_three_member_replica_set_read_and_written_at_majority():
    services = prod_config()["services"]
    for name in ("mongo", "mongo-2", "mongo-3"):
        assert services[name]["command"] == ["--replSet", "rs0", "--bind_ip_all"], name
    init = services["mongo-init"]
    script = " ".join(init["command"])
    assert "rs.initiate" in script and all(f"{host}:27017" in script for host in ("mongo", "mongo-2", "mongo-3"))
    assert init["restart"] == "no"
    for name in [*APPS, "web"]:
        assert services[name]["environment"]["STINT_MONGO_URL"] == CLUSTER_MONGO_URL, name
        assert services[name]["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully", name


def test_every_production_container_has_memory_and_cpu_limits():
    services = prod_config()["services"]
    unlimited = [name for name, service in services.items() if not (service.get("mem_limit") and service.get("cpus"))]
    assert unlimited == []


def test_production_speaks_https_sends_real_mail_and_keeps_keycloak_on_postgresql():
    services = prod_config()["services"]
    for name in APPS:
        environment = services[name]["environment"]
        assert environment["STINT_ENV"] == "production"
        assert environment["STINT_PUBLIC_URL"].startswith("https://")
        assert environment["STINT_SMTP_URL"] == "filled-stint_smtp_url"  # not the base file's mail catcher
        assert environment["STINT_AUTH_ISSUER"] == "https://stint_keycloak_public_url.example/realms/stint"
    assert services["web"]["environment"]["STINT_WEB_URL"].startswith("https://")
    assert services["web"]["environment"]["STINT_WEB_SECURE_COOKIES"] == "true"
    keycloak = services["keycloak"]["environment"]
    assert keycloak["KC_HOSTNAME"] == "https://stint_keycloak_public_url.example"
    assert keycloak["KC_DB"] == "postgres" and keycloak["STINT_SMTP_HOST"] == "filled-stint_smtp_host"


def test_no_secret_is_written_in_either_compose_file():
    """Every password and secret is a required ${VARIABLE} the env file fills in (and production's SMTP URL, which
    carries the mail server's credentials, is one too: see the https test)."""
    secret_key = re.compile(r"(PASSWORD|SECRET)")
    for name in PROD_FILES:
        for key, value in re.findall(r"^\s+([A-Z][A-Z0-9_]+):\s*(.+?)\s*$", (ROOT / name).read_text(), re.MULTILINE):
            if secret_key.search(key) and not key.endswith("CLIENT_ID"):
                assert value.startswith("${") and ":?" in value, f"{name}: {key} is {value!r}"
    assert all(not value for value in re.findall(r"^STINT_[A-Z_]+SECRET=(.*)$", PROD_EXAMPLE.read_text(), re.MULTILINE))
