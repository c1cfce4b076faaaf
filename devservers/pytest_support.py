"""Pick the Kafka + MongoDB-compatible servers for a test session.

Order: external servers from env (STINT_KAFKA_BOOTSTRAP + STINT_MONGO_URL) > testcontainers,
when a Docker engine answers and the package is importable > provisioned servers (no Docker).
STINT_DEVSERVERS=provisioned skips the Docker probe; STINT_DEVSERVERS=docker makes it mandatory.

Typical conftest.py:

    @pytest.fixture(scope="session")
    def servers(tmp_path_factory):
        s = provide_servers(tmp_path_factory.mktemp("servers"))
        yield s
        s.close()
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .servers import KIND, FerretServer, KafkaServer, start_all

# Confluent Platform 8.1 ships Apache Kafka 4.1 (KRaft only); testcontainers' KafkaContainer expects cp-kafka images.
KAFKA_IMAGE = os.environ.get("STINT_KAFKA_IMAGE", "confluentinc/cp-kafka:8.1.0")
MONGO_IMAGE = os.environ.get("STINT_MONGO_IMAGE", "mongo:7.0")


@dataclass
class Servers:
    """Connection details of the servers in use, plus handles when this process owns them."""

    bootstrap: str
    mongo_url: str
    kind: str
    kafka: KafkaServer | None = None
    ferret: FerretServer | None = None
    _closers: list[Callable[[], Any]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Stop whatever this object started (no-op for external servers); safe to call twice."""
        while self._closers:
            try:
                self._closers.pop()()
            except Exception as exc:  # noqa: BLE001 - keep closing the rest
                warnings.warn(f"devservers: error while stopping a server: {exc}", stacklevel=2)


def docker_available(timeout: float = 5.0) -> bool:
    """Return True if a docker CLI exists and `docker info` succeeds quickly."""
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _testcontainers_available() -> bool:
    try:
        return importlib.util.find_spec("testcontainers") is not None
    except (ImportError, ValueError):
        return False


def _from_testcontainers() -> Servers:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.mongodb import MongoDbContainer

    servers = Servers("", "", f"testcontainers: {KAFKA_IMAGE} (KRaft) + {MONGO_IMAGE}")
    try:
        kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
        kafka.start()
        servers._closers.append(kafka.stop)
        mongo = MongoDbContainer(MONGO_IMAGE)
        mongo.start()
        servers._closers.append(mongo.stop)
        servers.bootstrap = kafka.get_bootstrap_server()
        servers.mongo_url = mongo.get_connection_url()
    except BaseException:
        servers.close()
        raise
    return servers


def provide_servers(tmp_dir: str | os.PathLike[str]) -> Servers:
    """Return external, testcontainers or provisioned servers (in that order of preference)."""
    bootstrap = os.environ.get("STINT_KAFKA_BOOTSTRAP")
    mongo_url = os.environ.get("STINT_MONGO_URL")
    if bootstrap and mongo_url:
        return Servers(bootstrap, mongo_url, "external: STINT_KAFKA_BOOTSTRAP + STINT_MONGO_URL")

    mode = os.environ.get("STINT_DEVSERVERS", "auto").strip().lower()
    if mode in ("auto", "docker"):
        if docker_available() and _testcontainers_available():
            try:
                servers = _from_testcontainers()
                atexit.register(servers.close)
                return servers
            except Exception as exc:  # noqa: BLE001
                if mode == "docker":
                    raise
                warnings.warn(f"devservers: testcontainers failed ({exc}); provisioning instead", stacklevel=2)
        elif mode == "docker":
            raise RuntimeError("STINT_DEVSERVERS=docker but no Docker engine/testcontainers available")

    kafka, ferret = start_all(Path(tmp_dir))
    servers = Servers(kafka.bootstrap, ferret.url, KIND, kafka, ferret)
    servers._closers += [kafka.stop, ferret.stop]
    atexit.register(servers.close)  # safety net if the fixture's teardown never runs
    return servers
