"""The baselines for HTTP throughput, served like the services (same gunicorn settings).

gunicorn bench.minimal_app:app   (bench/support.py starts it with the services' gunicorn settings)

- `GET /ping`: a small JSON answer, what Flask and gunicorn cost by themselves.
- `POST /floor`: insert one document and read one back by `_id` on the same MongoDB-compatible server the
  services use (STINT_MONGO_URL, database BENCH_FLOOR_DATABASE), through `shared.mongo.connect` like them:
  the floor this store allows a request that writes and reads. The services are measured against it.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from flask import Flask, jsonify

from shared.mongo import connect

app = Flask("stint.bench.minimal")
_db = None


def floor_collection():
    """The floor's collection, opened on first use in each gunicorn worker (after the fork)."""
    global _db
    if _db is None:
        settings = SimpleNamespace(
            mongo_url=os.environ["STINT_MONGO_URL"],
            database_name=os.environ.get("BENCH_FLOOR_DATABASE", "bench_floor"),
            service="bench-floor",
        )
        _db = connect(settings)
    return _db["floor"]


@app.get("/ping")
def ping():
    """A small JSON answer, nothing else: what Flask and gunicorn cost by themselves."""
    return jsonify(status="ok", service="minimal")


@app.post("/floor")
def floor():
    """One insert and one read by `_id`: the least a request that stores something can cost on this store."""
    collection = floor_collection()
    document_id = str(uuid.uuid4())
    collection.insert_one({"_id": document_id, "at": datetime.now(UTC), "note": "floor"})
    stored = collection.find_one({"_id": document_id})
    return jsonify(id=stored["_id"]), 201


@app.get("/healthz")
def healthz():
    """Liveness, as the services answer it (the process runner waits on it)."""
    return jsonify(status="ok")
