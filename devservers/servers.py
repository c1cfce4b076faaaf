"""Real Kafka (KRaft: a single node, or a local cluster) and FerretDB (SQLite) servers for tests and local runs."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import signal
import subprocess
import uuid
from pathlib import Path

from . import build
from ._process import ManagedServer, ServerError, free_port, tail, tcp_open

__all__ = ["FerretServer", "KafkaCluster", "KafkaServer", "ServerError", "free_port", "start_all"]

KIND = f"provisioned: Apache Kafka {build.KAFKA_VERSION} (KRaft) + FerretDB {build.FERRETDB_VERSION} (SQLite)"

# A broker+controller node tuned for tests: few partitions for the internal topics, no rebalance delay, a small
# log-cleaner buffer to keep RSS down, and a short broker session so a SIGKILLed broker re-registers within seconds
# after restart (and, in a cluster, is declared dead within seconds, so its partitions get new leaders).
# Alone, every internal topic has one replica and the quorum is the node itself; in a cluster (KafkaCluster) the
# quorum is the static list of all controllers and every internal topic has a replica on each node.
_KAFKA_CONFIG = """\
process.roles=broker,controller
node.id={node_id}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
{quorum}
log.dirs={log_dir}
num.partitions=3
default.replication.factor={replicas}
min.insync.replicas={min_insync}
offsets.topic.replication.factor={replicas}
offsets.topic.num.partitions=3
transaction.state.log.replication.factor={replicas}
transaction.state.log.min.isr={min_insync}
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor={replicas}
share.coordinator.state.topic.min.isr={min_insync}
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
auto.leader.rebalance.enable=false
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=16777216
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
"""


def _kafka_uuid() -> str:
    """Return a random id in Kafka's Uuid format (url-safe base64 of 16 bytes, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


@contextlib.contextmanager
def _quiet(logger_name: str):
    logger = logging.getLogger(logger_name)
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(old)


class KafkaServer(ManagedServer):
    """Apache Kafka node in KRaft combined mode (broker and controller), run with java from Maven jars: a cluster
    of its own, or one node of a KafkaCluster (`node_id`, the cluster's `voters` and `cluster_id`)."""

    name = "kafka"

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int | None = None,
        controller_port: int | None = None,
        *,
        heap: str = "512m",
        jvm_args: tuple[str, ...] = (),
        parent_death_signal: bool = True,
        node_id: int = 1,
        voters: str = "",
        cluster_id: str = "",
        replicas: int = 1,
        min_insync: int = 1,
    ) -> None:
        super().__init__(data_dir, parent_death_signal=parent_death_signal)
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.jvm_args = tuple(jvm_args)
        self.node_id = node_id
        self.voters = voters  # "1@127.0.0.1:p1,2@127.0.0.1:p2,...": a static quorum; empty: this node alone
        self.cluster_id = cluster_id
        self.replicas = replicas
        self.min_insync = min_insync
        if node_id != 1:
            self.name = f"kafka-{node_id}"

    @property
    def bootstrap(self) -> str:
        """Return the bootstrap servers string, "127.0.0.1:PORT"."""
        if self.port is None:
            raise ServerError("kafka has no port yet: call start() first")
        return f"127.0.0.1:{self.port}"

    def _log_files(self) -> list[Path]:
        return [self.data_dir / "server.log", *super()._log_files()]

    def _java(self, libs: Path, *args: str) -> list[str]:
        return [
            build.java_bin(),
            f"-Dkafka.logs.dir={self.data_dir}",
            f"-Dlog4j2.configurationFile={build.KAFKA_LOG4J2}",
            # C1-only JIT and serial GC: faster start and ~15% less RSS for a small test broker.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            f"{libs}/*",
            *args,
        ]

    def _prepare(self) -> list[str]:
        libs = build.kafka_libs()
        state = self._load_state()
        if self.port is None:
            self.port = self._pick_port(state.get("port"))
        if self.controller_port is None:
            self.controller_port = self._pick_port(state.get("controller_port"), exclude=(self.port,))
        log_dir = self.data_dir / "logs"
        props = self.data_dir / "server.properties"
        quorum = (
            f"controller.quorum.voters={self.voters}"
            if self.voters
            else f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}"
        )
        props.write_text(
            _KAFKA_CONFIG.format(
                node_id=self.node_id,
                port=self.port,
                controller_port=self.controller_port,
                quorum=quorum,
                log_dir=log_dir,
                replicas=self.replicas,
                min_insync=self.min_insync,
            )
        )
        if not (log_dir / "meta.properties").exists():
            cluster_id = self.cluster_id or state.get("cluster_id") or _kafka_uuid()
            standalone = () if self.voters else ("--standalone",)  # static voters need no initial controllers
            fmt = subprocess.run(
                self._java(libs, "kafka.tools.StorageTool", "format", *standalone, "-t", cluster_id, "-c", str(props)),
                cwd=self.data_dir,
                capture_output=True,
                text=True,
            )
            if fmt.returncode != 0:
                raise ServerError(
                    f"kafka storage format failed:\n{fmt.stdout}{fmt.stderr}\n{tail(self.data_dir / 'server.log')}"
                )
            self._save_state(cluster_id=cluster_id)
        self._save_state(port=self.port, controller_port=self.controller_port)
        return self._java(
            libs,
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            *self.jvm_args,
            "kafka.Kafka",
            str(props),
        )

    def _probe(self) -> bool:
        if not tcp_open(self.port):
            return False
        try:
            from kafka import KafkaAdminClient
        except ImportError:  # no client library: trust the broker's own "started" line
            return "Kafka Server started" in tail(self.data_dir / "server.log", 200)
        with _quiet("kafka"):
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap,
                    client_id="devservers-probe",
                    request_timeout_ms=5000,
                    bootstrap_timeout_ms=3000,
                )
            except Exception:  # noqa: BLE001 - not up yet
                return False
            try:
                cluster = admin.describe_cluster()
                return bool(cluster.get("brokers"))
            except Exception:  # noqa: BLE001
                return False
            finally:
                admin.close()


class KafkaCluster:
    """A local Kafka cluster of `size` KRaft nodes, each a broker and a controller with its own ports, data dir and
    heap: every partition of the platform's topics can have a replica on each node, so one node may die.

    Internal topics get `size` replicas and need `size - 1` in sync; the workers' topics follow the settings
    STINT_KAFKA_REPLICATION_FACTOR and STINT_KAFKA_MIN_INSYNC_REPLICAS (`topic_settings` gives them).
    """

    def __init__(
        self, data_dir: str | os.PathLike[str], size: int = 3, *, heap: str = "512m", parent_death_signal: bool = True
    ) -> None:
        ports: list[int] = []
        while len(ports) < 2 * size:
            port = free_port()
            if port not in ports:
                ports.append(port)
        voters = ",".join(f"{n + 1}@127.0.0.1:{ports[2 * n + 1]}" for n in range(size))
        cluster_id = _kafka_uuid()
        self.min_insync = max(1, size - 1)
        self.nodes = [
            KafkaServer(
                Path(data_dir) / f"kafka-{n + 1}",
                ports[2 * n],
                ports[2 * n + 1],
                heap=heap,
                parent_death_signal=parent_death_signal,
                node_id=n + 1,
                voters=voters,
                cluster_id=cluster_id,
                replicas=size,
                min_insync=self.min_insync,
            )
            for n in range(size)
        ]

    @property
    def bootstrap(self) -> str:
        """Every node's address, comma separated, as clients take it."""
        return ",".join(node.bootstrap for node in self.nodes)

    def topic_settings(self) -> dict[str, str]:
        """The settings that make the workers create their topics on every node, writes needing all but one."""
        return {
            "STINT_KAFKA_REPLICATION_FACTOR": str(len(self.nodes)),
            "STINT_KAFKA_MIN_INSYNC_REPLICAS": str(self.min_insync),
        }

    def start(self, timeout: float = 180.0) -> KafkaCluster:
        """Start every node and wait until each answers (a node is ready once a quorum of controllers formed)."""
        build.kafka_libs()
        try:
            for node in self.nodes:
                node.start(wait=False)
            for node in self.nodes:
                node.wait_ready(timeout)
        except BaseException:
            self.stop(5)
            raise
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node, signalling all at once: one by one, the last would wait out its timeout for a quorum of
        controllers to accept its controlled shutdown."""
        for node in self.nodes:
            if node.is_running():
                node._signal_group(signal.SIGTERM)
        for node in self.nodes:
            node.stop(timeout)


class FerretServer(ManagedServer):
    """FerretDB v1 with the SQLite backend, speaking the MongoDB wire protocol."""

    name = "ferretdb"

    def __init__(
        self, data_dir: str | os.PathLike[str], port: int | None = None, *, parent_death_signal: bool = True
    ) -> None:
        super().__init__(data_dir, parent_death_signal=parent_death_signal)
        self.port = port

    @property
    def url(self) -> str:
        """Return the MongoDB connection string, "mongodb://127.0.0.1:PORT/"."""
        if self.port is None:
            raise ServerError("ferretdb has no port yet: call start() first")
        return f"mongodb://127.0.0.1:{self.port}/"

    def _prepare(self) -> list[str]:
        binary = build.ferretdb_binary()
        if self.port is None:
            self.port = self._pick_port(self._load_state().get("port"))
        self._save_state(port=self.port)
        command = [str(binary), f"-listen-addr=127.0.0.1:{self.port}", f"-sqlite-dir={self.data_dir / 'sqlite'}"]
        if os.environ.get("STINT_FERRETDB_PPROF"):  # e.g. 127.0.0.1:6060, to profile FerretDB under a benchmark
            command.append(f"-pprof-addr={os.environ['STINT_FERRETDB_PPROF']}")
        if os.environ.get("STINT_FERRETDB_LOG_LEVEL"):  # debug logs every command: count round trips under a bench
            command.append(f"-log-level={os.environ['STINT_FERRETDB_LOG_LEVEL']}")
        return command

    def _probe(self) -> bool:
        if not tcp_open(self.port):
            return False
        try:
            from pymongo import MongoClient
        except ImportError:
            return True
        client = MongoClient(self.url, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000)
        try:
            return client.admin.command("ping").get("ok") == 1.0
        except Exception:  # noqa: BLE001
            return False
        finally:
            client.close()


def start_all(
    run_dir: str | os.PathLike[str], timeout: float = 180.0, *, parent_death_signal: bool = True
) -> tuple[KafkaServer, FerretServer]:
    """Build if needed, start Kafka and FerretDB under run_dir, wait for both; return them."""
    run_dir = Path(run_dir)
    build.kafka_libs()  # build before starting either, so a build failure leaves nothing running
    build.ferretdb_binary()
    kafka = KafkaServer(run_dir / "kafka", parent_death_signal=parent_death_signal)
    ferret = FerretServer(run_dir / "ferretdb", parent_death_signal=parent_death_signal)
    try:
        kafka.start(wait=False)
        ferret.start(wait=False)
        ferret.wait_ready(timeout)
        kafka.wait_ready(timeout)
    except BaseException:
        ferret.stop(5)
        kafka.stop(5)
        raise
    return kafka, ferret
