"""What each service's worker says of itself, for the admin's health overview: ready or not, how far its consumer
is behind, how many messages it dead-lettered and how many events wait in its outbox (its /readyz and /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families

TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class WorkerStatus:
    """One worker's health as a person reads it."""

    reachable: bool
    ready: bool = False
    readiness: str = ""  # the /readyz answer as given (the page puts it in words)
    lag: int = 0  # messages behind the end of its partitions
    dead_letters: int = 0  # messages it sent to a dead-letter topic since it started
    backlog: int = 0  # documents whose events wait to be published


def totals(metrics_text: str) -> dict[str, float]:
    """The sum of every sample of each metric in a Prometheus text exposition."""
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def worker_status(base_url: str) -> WorkerStatus:
    """Ask a worker's probes; an unreachable worker is reported as such, never raised."""
    try:
        ready = requests.get(f"{base_url}/readyz", timeout=TIMEOUT_SECONDS)
        metrics = requests.get(f"{base_url}/metrics", timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return WorkerStatus(reachable=False, readiness=f"not reachable ({type(exc).__name__})")
    sums = totals(metrics.text) if metrics.ok else {}
    return WorkerStatus(
        reachable=True,
        ready=ready.status_code == 200,
        readiness=ready.text[:300],
        lag=int(sums.get("stint_consumer_lag", 0)),
        dead_letters=int(sums.get("stint_dead_letters_total", 0)),
        backlog=int(sums.get("stint_relay_backlog", 0)),
    )
