"""The baseline for HTTP throughput: a minimal Flask endpoint returning a small JSON, served like the services.

gunicorn bench.minimal_app:app   (bench/support.py starts it with the services' gunicorn settings)
"""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask("stint.bench.minimal")


@app.get("/ping")
def ping():
    """A small JSON answer, nothing else: what Flask and gunicorn cost by themselves."""
    return jsonify(status="ok", service="minimal")


@app.get("/healthz")
def healthz():
    """Liveness, as the services answer it (the process runner waits on it)."""
    return jsonify(status="ok")
