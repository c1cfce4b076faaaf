"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import marshmallow as ma
import structlog
from flask import Flask, jsonify
from pymongo.errors import ConnectionFailure, DuplicateKeyError, ExecutionTimeout, ServerSelectionTimeoutError
from werkzeug.exceptions import HTTPException

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """An error a client can act on; rendered in the one error shape."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict | None = None, status: int | None = None
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details or {}
        self.status = status or self.status


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "unprocessable"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


class ErrorBodySchema(ma.Schema):
    """The inside of an error response."""

    code = ma.fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = ma.fields.String(required=True, metadata={"description": "what went wrong, for people"})
    details = ma.fields.Dict(metadata={"description": "field errors or other specifics"})


class ErrorSchema(ma.Schema):
    """Every error response: {"error": {...}}."""

    error = ma.fields.Nested(ErrorBodySchema, required=True)


# Werkzeug's names are fine for people but codes should be stable snake_case.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


def error_response(status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None):
    """Build a Flask response in the one error shape."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def render_http_exception(exc: HTTPException):
    """Render Werkzeug/flask-smorest HTTP errors (404, 405, webargs 422...) in the shape."""
    status = exc.code or 500
    if status >= 500:
        return render_unexpected(exc)
    data = getattr(exc, "data", None) or {}
    details = {}
    if "messages" in data:  # webargs validation errors, keyed by location
        details = _flatten_locations(data["messages"])
    elif "errors" in data:
        details = data["errors"]
    message = data.get("message") or exc.description or exc.name
    if status == 422 and "messages" in data:
        message = "the request did not validate"
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return error_response(status, HTTP_CODES.get(status, "http_error"), message, details, headers)


def _flatten_locations(messages: dict) -> dict:
    """Webargs groups errors by location (json, query); one location of field errors needs no nesting."""
    if len(messages) == 1 and isinstance(next(iter(messages.values())), dict):
        return next(iter(messages.values()))
    return messages  # e.g. {"json": ["Invalid JSON body."]}: details stay an object


def render_api_error(exc: ApiError):
    """Render a domain or auth error."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status == 503:
        headers = {"Retry-After": "2"}
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


def render_database_down(exc: Exception):
    """The database is unreachable: 503, so clients retry, never a 500."""
    log.warning("database_unavailable", error=str(exc)[:300])
    return error_response(
        503, "database_unavailable", "the database is unavailable; retry shortly", headers={"Retry-After": "2"}
    )


def render_unexpected(exc: Exception):
    """Log the trace; answer a bare 500 without it."""
    original = getattr(exc, "original_exception", None) or exc
    if isinstance(original, (ConnectionFailure, ServerSelectionTimeoutError, ExecutionTimeout)):
        return render_database_down(original)
    log.error("unhandled_exception", exc_info=original)
    return error_response(500, "internal_error", "an unexpected error occurred")


def render_unencodable_text(exc: UnicodeEncodeError):
    """JSON allows lone surrogates; the database and the broker cannot store them."""
    return error_response(422, "invalid_text", "the request contains text that is not valid Unicode")


def render_simultaneous_write(exc: DuplicateKeyError):
    """Two requests raced to create the same thing (e.g. concurrent upserts): the loser may simply retry."""
    log.info("simultaneous_write", error=str(exc)[:200])
    return error_response(409, "simultaneous_change", "a simultaneous request changed this resource; retry")


def register_error_handlers(app: Flask) -> None:
    """Route every error a request can raise to the one JSON shape."""
    app.register_error_handler(ApiError, render_api_error)
    app.register_error_handler(UnicodeEncodeError, render_unencodable_text)
    app.register_error_handler(DuplicateKeyError, render_simultaneous_write)
    app.register_error_handler(HTTPException, render_http_exception)
    app.register_error_handler(ConnectionFailure, render_database_down)
    app.register_error_handler(ExecutionTimeout, render_database_down)
    app.register_error_handler(Exception, render_unexpected)
