"""The baselines for HTTP throughput, served like the services (same gunicorn settings).

gunicorn bench.minimal_app:app   (bench/support.py starts it with the services' gunicorn settings)

- `GET /ping`: a small JSON answer, what Flask and gunicorn cost by themselves.
- `POST /floor`: insert one document and read one back by `_id` on the same MongoDB-compatible server the
  services use (STINT_MONGO_URL, database BENCH_FLOOR_DATABASE), through `shared.mongo.connect` like them:
  the floor this store allows a request that writes and reads. The services are measured against it.
- `POST /floor/outbox`: insert one document carrying one event through the services' transactional outbox, the
  event published by the writer at once as theirs are (`shared.outbox`, `shared.publisher`; broker
  BENCH_FLOOR_KAFKA, topics under BENCH_FLOOR_TOPIC_PREFIX, which no service reads): the least a request that
  stores something and announces it costs in this design. Apply is such a request; the bench reports it against
  this floor too.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from flask import Flask, jsonify

from shared.events import new_event
from shared.mongo import connect
from shared.outbox import insert_aggregate, new_document_with_events
from shared.publisher import enable_publish_on_write

app = Flask("stint.bench.minimal")
_db = None


def floor_database():
    """The floors' database, opened on first use in each gunicorn worker (after the fork), its writes published
    at once like the services' (used by the outbox floor only)."""
    global _db
    if _db is None:
        settings = SimpleNamespace(
            mongo_url=os.environ["STINT_MONGO_URL"],
            database_name=os.environ.get("BENCH_FLOOR_DATABASE", "bench_floor"),
            service="bench-floor",
            kafka_bootstrap=os.environ.get("BENCH_FLOOR_KAFKA", "127.0.0.1:9092"),
            topic_prefix=os.environ.get("BENCH_FLOOR_TOPIC_PREFIX", "bench-floor."),
            publish_on_write=True,
        )
        _db = connect(settings)
        enable_publish_on_write(_db, settings)
    return _db


def floor_collection():
    """The floor's collection."""
    return floor_database()["floor"]


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


@app.post("/floor/outbox")
def outbox_floor():
    """One insert carrying one event through the outbox, published by the writer at once: the least a request that
    stores something and announces it costs in this design (apply is one, with a listing read and more besides)."""
    document_id = str(uuid.uuid4())
    data = {"org_id": document_id, "name": "floor", "status": "pending"}
    event = new_event("stint.org.registered.v1", "bench", document_id, data)
    document = new_document_with_events({"_id": document_id, "name": "floor"}, [event])
    insert_aggregate(floor_database()["outbox_floor"], document)
    return jsonify(id=document_id), 201


@app.get("/healthz")
def healthz():
    """Liveness, as the services answer it (the process runner waits on it)."""
    return jsonify(status="ok")
