"""Prometheus metrics shared by every service (multi-process safe under gunicorn)."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # must exist before the first metric is created
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

HTTP_REQUESTS = Counter("stint_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("stint_http_request_duration_seconds", "HTTP request latency", ["service", "route"])
EVENTS_PUBLISHED = Counter("stint_events_published_total", "Events published by the outbox relay", ["type"])
EVENTS_CONSUMED = Counter("stint_events_consumed_total", "Events consumed", ["type", "outcome"])
DEAD_LETTERS = Counter("stint_dead_letters_total", "Messages sent to a dead-letter topic", ["topic"])
CONSUMER_LAG = Gauge(
    "stint_consumer_lag",
    "Messages behind the end of each partition",
    ["group", "topic", "partition"],
    multiprocess_mode="max",
)


def registry() -> CollectorRegistry:
    """The registry to expose: aggregated over gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY


def metrics_response() -> Response:
    """The Prometheus text exposition."""
    return Response(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)  # it names its charset


def instrument(app: Flask, service: str) -> None:
    """Count and time every request by route template (not raw path, to bound label values)."""

    @app.before_request
    def _start_timer():
        g._stint_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        route = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        started = g.get("_stint_started")
        if started is not None:
            HTTP_LATENCY.labels(service, route).observe(time.perf_counter() - started)
        return response
