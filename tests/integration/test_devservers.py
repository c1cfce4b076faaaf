"""The provisioned servers are real: Kafka round-trips and survives a SIGKILL, FerretDB stores documents.

These start their own Kafka + FerretDB (not the shared session `servers`), because one test kills
the broker on purpose.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from devservers import FerretServer, KafkaServer, free_port, start_all

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    """Own Kafka + FerretDB for this module, stopped at the end."""
    kafka, ferret = start_all(tmp_path_factory.mktemp("devservers"))
    yield kafka, ferret
    kafka.stop()
    ferret.stop()
    assert not kafka.is_running() and not ferret.is_running()


def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(topic, value).get(timeout=30)
        producer.flush()
    finally:
        producer.close()


def _contains(bootstrap: str, topic: str, value: bytes) -> bool:
    """Read the topic from the beginning (no consumer group) until value shows up or 10 s pass."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        return any(record.value == value for record in consumer)
    finally:
        consumer.close()


def test_free_port_is_bindable():
    port = free_port()
    assert 1024 < port < 65536


def test_kafka_produce_and_consume(dev):
    kafka, _ = dev
    topic = f"devservers-{uuid.uuid4().hex[:8]}"
    _produce(kafka.bootstrap, topic, b"hello")
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=20000,
    )
    try:
        values = [next(consumer).value]
    finally:
        consumer.close()
    assert values == [b"hello"]


def test_ferretdb_insert_and_find(dev):
    _, ferret = dev
    client = MongoClient(ferret.url, serverSelectionTimeoutMS=5000)
    try:
        coll = client["devservers_test"]["things"]
        coll.insert_one({"_id": "a", "n": 1, "tags": ["x", "y"]})
        assert coll.find_one({"tags": "y"}) == {"_id": "a", "n": 1, "tags": ["x", "y"]}
    finally:
        client.close()


def test_ferretdb_finds_by_id_through_an_index(dev):
    """A read by `_id` uses the `_id` index (devservers.build.FERRETDB_PATCHES), so it does not walk the collection."""
    _, ferret = dev
    client = MongoClient(ferret.url, serverSelectionTimeoutMS=5000)
    try:
        coll = client["devservers_idx"]["things"]
        coll.insert_many([{"_id": f"id-{n}", "n": n} for n in range(50)])
        assert coll.find_one({"_id": "id-7"}) == {"_id": "id-7", "n": 7}
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"_id": "id-7"})
    finally:
        client.close()
    database = sqlite3.connect(f"file:{ferret.data_dir / 'sqlite' / 'devservers_idx.sqlite'}?mode=ro", uri=True)
    try:
        (table,) = database.execute("SELECT table_name FROM _ferretdb_collections WHERE name = 'things'").fetchone()
        plan = database.execute(
            f"EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM \"{table}\" WHERE _ferretdb_sjson->'$._id' = ?",
            ('"id-7"',),
        ).fetchall()
    finally:
        database.close()
    assert any("USING INDEX" in row[-1] for row in plan), plan


def test_kafka_message_survives_kill_and_restart(dev):
    kafka, _ = dev
    bootstrap = kafka.bootstrap
    topic = f"drill-{uuid.uuid4().hex[:8]}"
    _produce(bootstrap, topic, b"before-kill")

    kafka.kill()
    assert not kafka.is_running()
    kafka.restart()

    assert kafka.is_running()
    assert kafka.bootstrap == bootstrap  # same port, same data dir
    assert _contains(kafka.bootstrap, topic, b"before-kill")


def test_servers_restart_on_same_ports_after_graceful_stop(dev):
    _, ferret = dev
    url = ferret.url
    ferret.stop()
    assert not ferret.is_running()
    ferret.restart()
    assert ferret.url == url
    client = MongoClient(ferret.url, serverSelectionTimeoutMS=5000)
    try:
        assert client["devservers_test"]["things"].find_one({"_id": "a"})["n"] == 1  # data kept
    finally:
        client.close()


def test_cli_up_is_idempotent_and_down_stops(tmp_path):
    run_dir = tmp_path / "run"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "devservers", *args, "--run-dir", str(run_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )

    first = cli("up")
    assert first.returncode == 0, first.stderr
    assert "STINT_KAFKA_BOOTSTRAP=127.0.0.1:" in first.stdout and "STINT_MONGO_URL=mongodb://" in first.stdout
    info = json.loads((run_dir / "servers.json").read_text())
    try:
        second = cli("up")
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stderr
        assert second.stdout == first.stdout
        assert cli("status").returncode == 0
    finally:
        down = cli("down")
    assert down.returncode == 0, down.stderr
    for name, cls in (("kafka", KafkaServer), ("ferretdb", FerretServer)):
        server = cls(info[name]["data_dir"])
        server.pid, server.start_time = info[name]["pid"], info[name]["start_time"]
        assert not server.is_running(), f"{name} still running after down"
    assert cli("status").returncode == 1
