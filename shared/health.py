"""/healthz (process alive), /readyz (database and broker reachable, else 503), /metrics."""

from __future__ import annotations

import socket

import marshmallow as ma
from flask import current_app, jsonify
from flask_smorest import Blueprint

from shared.errors import ErrorSchema, error_response
from shared.metrics import metrics_response
from shared.mongo import ping

blp = Blueprint("health", __name__, description="Liveness, readiness and metrics")
BROKER_CONNECT_TIMEOUT = 1.5
METRICS_RESPONSE = {
    "description": "Prometheus text exposition",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


class LivenessSchema(ma.Schema):
    """/healthz: the process answers."""

    status = ma.fields.String(required=True, metadata={"enum": ["ok"]})


class ReadinessSchema(ma.Schema):
    """/readyz: every dependency answered."""

    status = ma.fields.String(required=True, metadata={"enum": ["ready"]})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)


def broker_reachable(bootstrap: str) -> bool:
    """True when one bootstrap address accepts a TCP connection."""
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=BROKER_CONNECT_TIMEOUT):
                return True
        except (OSError, ValueError):
            continue
    return False


def dependency_checks(db, bootstrap: str) -> dict[str, str]:
    """Whether the database and the broker answer: "ok", or what is wrong (an api's and a worker's readiness)."""
    checks = {}
    try:
        ping(db)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["broker"] = "ok" if broker_reachable(bootstrap) else "unreachable"
    return checks


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, LivenessSchema)
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, ReadinessSchema)
@blp.alt_response(503, schema=ErrorSchema, description="a dependency is unreachable (details name it)")
def readyz():
    """The database and the broker answer."""
    settings = current_app.extensions["stint_settings"]
    checks = dependency_checks(current_app.extensions["stint_db"], settings.kafka_bootstrap)
    if all(value == "ok" for value in checks.values()):
        return jsonify(status="ready", checks=checks)
    return error_response(503, "not_ready", "a dependency is unreachable", checks, {"Retry-After": "2"})


@blp.route("/metrics")
@blp.doc(security=[], responses={"200": METRICS_RESPONSE})
def metrics():
    """Prometheus text exposition."""
    return metrics_response()
