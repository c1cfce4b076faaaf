"""Losing a broker: the platform on a local 3-broker KRaft cluster (topics with 3 replicas, 2 in sync to accept a
write) loses the broker leading most of its partitions in the middle of 100 approvals; every credential and every
notification still arrives, none twice, with the broker still dead. The pause is measured from the workers' logs.

It starts its own cluster, database and platform (about 3 minutes in all), so it runs on its own: `make drill-broker`.
docs/failure-drills.md records its numbers.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import datetime

import pytest
from kafka.admin import KafkaAdminClient

from devservers.servers import FerretServer, KafkaCluster
from tests.e2e.conftest import running_platform
from tests.e2e.drill_support import (
    ISSUED,
    EmployerBurst,
    LogWatch,
    PlatformClient,
    assert_every_effect_happened_once,
    credential_emails,
    enrol,
    redeliveries,
    unique_tag,
    wait_for_credential_emails,
    wait_until,
    wait_until_every_credential_arrives,
    watch_workers,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("STINT_BROKER_DRILL"),
        reason="starts its own 3-broker cluster and platform (~3 min): `make drill-broker`",
    ),
]

APPROVALS = 100
COHORT = 50  # a listing has at most 50 seats: two employers approve 50 students each, at the same time
SETTLE_TIMEOUT = 180
EMAIL_TIMEOUT = 120
REJOIN_TIMEOUT = 60


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three Kafka nodes, each broker and controller, 512 MB of heap each."""
    kafka = KafkaCluster(tmp_path_factory.mktemp("cluster")).start()
    yield kafka
    kafka.stop()


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    ferret = FerretServer(tmp_path_factory.mktemp("ferretdb")).start()
    yield ferret
    ferret.stop()


@pytest.fixture(scope="module")
def cluster_platform(cluster, database, mail, tmp_path_factory):
    """Every service's api and worker on the cluster, their topics on all three brokers (no web: nobody signs in)."""
    run_dir = tmp_path_factory.mktemp("platform")
    with running_platform(cluster.bootstrap, database.url, mail, run_dir, **cluster.topic_settings()) as platform:
        yield platform


def partitions_of(cluster: KafkaCluster, prefix: str) -> list[dict]:
    """The partitions of the platform's topics (those named with its prefix), as the cluster describes them."""
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap.split(","), client_id="broker-drill")
    try:
        names = [topic for topic in admin.list_topics() if topic.startswith(prefix)]
        return [partition for topic in admin.describe_topics(names) for partition in topic["partitions"]]
    finally:
        admin.close()


def moments(watch: LogWatch, name: str, **match) -> list[float]:
    """When each matching log line since the watch began was written (seconds since the epoch), in order."""
    return sorted(datetime.fromisoformat(line["timestamp"]).timestamp() for line in watch.events(name, **match))


def pause_around(times: list[float], killed_at: float) -> tuple[float, float]:
    """(seconds from the kill to the first effect after it, the longest gap between two effects around the kill)."""
    after = [t for t in times if t >= killed_at]
    before = [t for t in times if t < killed_at]
    first_after = after[0] - killed_at if after else float("inf")
    around = ([before[-1]] if before else []) + after
    gap = max((b - a for a, b in zip(around, around[1:], strict=False)), default=0.0)
    return first_after, gap


@pytest.mark.timeout(900)
def test_losing_a_broker_mid_burst_of_100_approvals_loses_and_doubles_nothing(cluster_platform, cluster, token):
    platform = cluster_platform
    prefix = platform.env["STINT_TOPIC_PREFIX"]
    client = PlatformClient(platform)
    started_at = time.monotonic()
    cohorts = [enrol(client, token, unique_tag("broker"), COHORT) for _ in range(APPROVALS // COHORT)]
    enrolled = time.monotonic()

    partitions = partitions_of(cluster, prefix)
    assert partitions and all(len(p["replica_nodes"]) == 3 for p in partitions), partitions
    leaders = Counter(p["leader_id"] for p in partitions)
    victim_id = leaders.most_common(1)[0][0]
    victim = cluster.nodes[victim_id - 1]
    workers = watch_workers(platform)
    issuing, notifying = workers["certification-worker"], workers["notification-worker"]

    bursts = [EmployerBurst(client, cohort).start() for cohort in cohorts]
    answers = {}
    try:
        wait_until(lambda: sum(b.answered() for b in bursts) >= APPROVALS // 3, 120, "a third answered", pause=0.02)
        victim.kill()
        killed_at = time.time()
        for burst in bursts:
            answers.update(burst.join(timeout=300))
        settled = max(wait_until_every_credential_arrives(client, cohort, SETTLE_TIMEOUT) for cohort in cohorts)
        assert not victim.is_running()  # everything arrived on the two brokers left
        for cohort in cohorts:
            assert_every_effect_happened_once(client, cohort)
        emailed = max(wait_for_credential_emails(platform, cohort, EMAIL_TIMEOUT) for cohort in cohorts)
        for cohort in cohorts:
            assert all(len(set(ids)) == 1 for ids in credential_emails(platform, cohort).values())
        new_leaders = Counter(p["leader_id"] for p in partitions_of(cluster, prefix))
        assert victim_id not in new_leaders, new_leaders
    finally:
        for burst in bursts:
            burst.join(timeout=300)
        if not victim.is_running():
            victim.start(wait=False)
    restarted = time.monotonic()
    assert len(answers) == APPROVALS and set(answers.values()) == {200}, answers

    def rejoined() -> bool:
        return all(victim_id in p["isr_nodes"] for p in partitions_of(cluster, prefix))

    wait_until(rejoined, REJOIN_TIMEOUT, "the restarted broker back in sync on every partition", pause=0.5)
    first_credential, credential_gap = pause_around(moments(issuing, "credential_issued"), killed_at)
    first_told, told_gap = pause_around(moments(notifying, "event_handled", event_type=ISSUED), killed_at)
    print(
        f"\nbroker drill (3 brokers, RF 3, min.insync.replicas 2): enrol {APPROVALS} in {enrolled - started_at:.1f}s; "
        f"killed broker {victim_id} (leader of {leaders[victim_id]} of {len(partitions)} partitions) after "
        f"{APPROVALS // 3} approvals answered; first credential after the kill {first_credential:.1f}s, longest gap "
        f"between credentials {credential_gap:.1f}s; first 'credential issued' notification after the kill "
        f"{first_told:.1f}s, longest gap {told_gap:.1f}s; all {APPROVALS} settled {settled:.1f}s after the burst, "
        f"emails {emailed:.1f}s later; redeliveries skipped {redeliveries(workers)}; broker back in sync "
        f"{time.monotonic() - restarted:.1f}s after its restart; total {time.monotonic() - started_at:.1f}s"
    )
