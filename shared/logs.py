"""Structured JSON logs on stdout; every line carries the service and the request or event id."""

from __future__ import annotations

import logging
import sys
import uuid

import structlog
from flask import Flask, g, request

REQUEST_ID_HEADER = "X-Request-ID"
_configured = False


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send stdlib and structlog output to stdout as one JSON object per line."""
    global _configured
    if _configured:
        structlog.contextvars.bind_contextvars(service=service)
        return
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kafka", "pymongo", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)
    _configured = True


def bind_request_ids(app: Flask) -> None:
    """Take or make a request id, bind it to every log line, echo it in the response."""

    @app.before_request
    def _bind():
        request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        g.request_id = request_id[:64]
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _echo(response):
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response

    @app.teardown_request
    def _unbind(_exc):
        structlog.contextvars.unbind_contextvars("request_id")
