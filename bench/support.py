"""What every benchmark needs: real servers, the platform as real processes, tokens, percentiles, tables, notes.

The servers and the platform are provisioned the way the e2e tests do it (tests/e2e/conftest.py): the
session's Kafka and FerretDB from `devservers` (or the servers named by STINT_KAFKA_BOOTSTRAP and
STINT_MONGO_URL), then every service's api under gunicorn and its worker as separate processes, with
their own databases and topic prefix.
"""

from __future__ import annotations

import contextlib
import os
import platform as host_platform
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from devservers import free_port
from devservers.platform_processes import (
    GUNICORN_WORKERS,
    SERVICE_PORTS,
    ServiceProcess,
    gunicorn_command,
    isolated_env,
    platform_processes,
    started,
)
from devservers.pytest_support import Servers, provide_servers
from shared.auth import mint_token

BENCH_SECRET = "stint-bench-secret-" + "b" * 32
READY_TIMEOUT = 120
ROOT = Path(__file__).resolve().parent.parent


# ---- servers and processes ----------------------------------------------------------------------


@contextlib.contextmanager
def real_servers(run_dir: Path) -> Iterator[Servers]:
    """Kafka and a MongoDB-compatible server: external (env), testcontainers or provisioned, like the tests."""
    servers = provide_servers(run_dir / "servers")
    try:
        yield servers
    finally:
        servers.close()


@dataclass
class Platform:
    """The running platform: base URLs and processes by name, its databases' names and its settings."""

    urls: dict[str, str]
    processes: dict[str, ServiceProcess]
    env: dict[str, str]
    namespace: str
    mongo_url: str
    bootstrap: str

    def url(self, service: str, path: str = "") -> str:
        """The URL of `path` on a service."""
        return self.urls[service] + path

    def database(self, service: str) -> str:
        """The name of a service's database in this run."""
        return f"{self.namespace}_{service}"

    def topic(self, service: str) -> str:
        """A service's topic in this run."""
        from shared.events import TOPICS

        return f"{self.namespace}.{TOPICS[service]}"


@contextlib.contextmanager
def running_platform(servers: Servers, run_dir: Path, smtp_url: str = "") -> Iterator[Platform]:
    """Every service's api (gunicorn) and worker as real processes on `servers`; stopped at the end."""
    namespace = "bench" + uuid.uuid4().hex[:8]
    ports = {name: free_port() for name in SERVICE_PORTS}
    env = isolated_env(namespace, servers.bootstrap, servers.mongo_url, ports, run_dir, BENCH_SECRET, smtp_url)
    processes = platform_processes(run_dir, env, ports, mail_catcher=False, owned_by_caller=True)
    try:
        with started(processes, READY_TIMEOUT) as by_name:
            yield Platform(
                urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
                processes=by_name,
                env=env,
                namespace=namespace,
                mongo_url=servers.mongo_url,
                bootstrap=servers.bootstrap,
            )
    finally:
        with contextlib.suppress(Exception):  # best effort: leave the shared server as we found it
            drop_databases(servers.mongo_url, [f"{namespace}_{name}" for name in SERVICE_PORTS])


def drop_databases(mongo_url: str, names: list[str]) -> None:
    """Drop the run's databases."""
    from pymongo import MongoClient

    client = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        for name in names:
            client.drop_database(name)
    finally:
        client.close()


@contextlib.contextmanager
def minimal_app(run_dir: Path, mongo_url: str, database: str, bootstrap: str = "") -> Iterator[str]:
    """bench/minimal_app.py under the same gunicorn settings as the services, its floors on `database` (the outbox
    floor publishing to `bootstrap`, on topics named after the database); its URL."""
    port = free_port()
    env = {
        "STINT_MONGO_URL": mongo_url,
        "BENCH_FLOOR_DATABASE": database,
        "BENCH_FLOOR_KAFKA": bootstrap,
        "BENCH_FLOOR_TOPIC_PREFIX": f"{database}.",
    }
    process = ServiceProcess(
        "minimal-api", gunicorn_command("bench.minimal_app:app", port), env, run_dir, port, parent_death_signal=True
    )
    process.start(wait=True, timeout=READY_TIMEOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()
        with contextlib.suppress(Exception):
            drop_databases(mongo_url, [database])


# ---- HTTP helpers -------------------------------------------------------------------------------


def token(role: str, sub: str | None = None, org: str | None = None, ttl_seconds: int = 6 * 3600) -> str:
    """A bearer token the bench platform accepts."""
    sub = sub or f"{role}-{uuid.uuid4().hex[:8]}"
    return mint_token(
        BENCH_SECRET, sub, role, org=org, name=sub.title(), email=f"{sub}@bench.example", ttl_seconds=ttl_seconds
    )


def bearer(value: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {value}"}


def call(
    session: requests.Session, method: str, url: str, expect: int, bearer_token: str | None = None, **kwargs
) -> dict:
    """Make a request and insist on `expect`; return the JSON body (or {})."""
    headers = {**kwargs.pop("headers", {}), **(bearer(bearer_token) if bearer_token else {})}
    response = session.request(method, url, headers=headers, timeout=30, **kwargs)
    if response.status_code != expect:
        raise RuntimeError(f"{method} {url} answered {response.status_code}, not {expect}: {response.text[:500]}")
    return response.json() if response.content and "json" in response.headers.get("Content-Type", "") else {}


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; raise with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


# How busy the platform's processes may be and still count as quiet: their CPU over a second, in cores. Idle, each
# worker's consumer and relay polls take about 1.2 % and the apis a little, ~5.5 % in all (session 11): a threshold of
# 5 % was met or missed by chance, and a bench then waited its whole timeout in one run and not in the next.
QUIET_CORES = 0.10


def wait_until_quiet(platform: Platform, timeout: float = 300.0) -> float:
    """Wait until the platform's processes (gunicorn's workers included) have been idle two seconds running, so a
    measurement does not run on the tail of the work set off before it (emails still being sent, consumers behind);
    the seconds waited. Gives up after `timeout` and says so."""
    started_at = time.monotonic()
    roots = [process.pid for process in platform.processes.values() if process.pid]
    quiet_seconds, before = 0, cpu_seconds(roots)
    while time.monotonic() - started_at < timeout:
        time.sleep(1.0)
        now = cpu_seconds(roots)
        quiet_seconds = quiet_seconds + 1 if now - before < QUIET_CORES else 0
        before = now
        if quiet_seconds >= 2:
            return time.monotonic() - started_at
    print(f"bench: the platform was still busy after {timeout:.0f} s; measuring anyway", flush=True)
    return time.monotonic() - started_at


def cpu_seconds(roots: list[int]) -> float:
    """CPU time (user + system) used so far by the processes `roots` and all their descendants."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))  # fields[1] is the parent's id
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, list(roots)
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


# ---- numbers ------------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN when there are no samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99, mean and count of samples (milliseconds in, milliseconds out)."""
    return {
        "n": len(samples),
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "mean": statistics.fmean(samples) if samples else float("nan"),
    }


def ratio(value: float, baseline: float) -> str:
    """`value / baseline` as '12.3x' (or '-' when the baseline is missing)."""
    if not baseline or baseline != baseline or value != value:
        return "-"
    return f"{value / baseline:.1f}x" if value / baseline >= 10 else f"{value / baseline:.2f}x"


def fmt(value: float, digits: int = 1) -> str:
    """A number for a table cell."""
    if value != value:  # NaN
        return "-"
    return f"{value:,.{digits}f}"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (first column left-aligned, the rest right-aligned)."""
    align = ["---"] + ["---:"] * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """The same table for a terminal."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = []
    for index, row in enumerate([headers, *rows]):
        cells = [
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine_notes(servers_kind: str) -> str:
    """One line on where the numbers were measured: CPU, cores, memory, load, Python, servers."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    load = ", load average {:.2f} / {:.2f} / {:.2f} at the start".format(*os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}{load}; {host_platform.system()} {host_platform.release()}; "
        f"Python {host_platform.python_version()}; servers: {servers_kind}; "
        f"gunicorn {GUNICORN_WORKERS} sync workers per api"
    )


def now_stamp() -> str:
    """The current UTC time for the report."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
