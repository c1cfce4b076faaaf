"""The common skeleton of every service's Flask app: settings, logs, errors, auth, health, OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import structlog
import swagger_ui_bundle
from apispec import BasePlugin
from flask import Blueprint, Flask, current_app, request
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from pymongo.database import Database
from pymongo.errors import ConnectionFailure

from shared import errors
from shared.auth import TokenVerifier
from shared.config import Settings, load_settings
from shared.health import blp as health_blp
from shared.logs import bind_request_ids, configure_logging
from shared.metrics import instrument
from shared.mongo import connect
from shared.publisher import enable_publish_on_write
from shared.rate_limits import ENDPOINTS as RATE_LIMITED_ENDPOINTS
from shared.rate_limits import install as install_rate_limits
from shared.rate_limits import load_rate_limits, too_many_requests

log = structlog.get_logger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024
# Swagger UI's assets come from a pinned PyPI distribution and are served by the service itself, so /docs works on
# a network without internet (no CDN).
SWAGGER_UI_ASSETS = "/docs/assets/"
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


class StandardErrorsPlugin(BasePlugin):
    """Documents the errors that come from the shared plumbing rather than from a view, as flask-smorest documents
    the 422 of every operation with arguments: a body that is not JSON (400) or not sent as JSON (415), a cursor we
    did not make (400), a missing or bad token (401) or one without a known role or organisation (403) on every
    secured operation, too many requests (429) on a rate-limited one, and the HTTP server's own limit on the request
    line (414, an HTML page: gunicorn answers before the app)."""

    BAD_BODY = _error("The body is not valid JSON")
    NOT_JSON = _error("The body was sent as something other than JSON (Content-Type)")
    BAD_CURSOR = _error("The cursor was not made by this service")
    UNAUTHORIZED = _error("No valid bearer token")
    FORBIDDEN = _error("The token's role (or organisation) may not do this")
    TOO_MANY = {
        **_error("Over this operation's rate limit for your address (docs/rate-limits.md): retry after Retry-After"),
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
    }
    URI_TOO_LONG = {
        "description": "The request line is over gunicorn's limit (4094 bytes): refused before the service sees it",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add each standard error an operation can give and does not document itself."""
        rule = kwargs.get("rule")
        limited = rule is not None and rule.endpoint in RATE_LIMITED_ENDPOINTS
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("400", self.BAD_BODY)
                responses.setdefault("415", self.NOT_JSON)
            if any(p.get("name") == "cursor" for p in operation.get("parameters", []) if isinstance(p, dict)):
                responses.setdefault("400", self.BAD_CURSOR)
            security = operation.get("security")
            if security is None or any(requirement for requirement in security):  # the global bearerAuth applies
                responses.setdefault("401", self.UNAUTHORIZED)
                responses.setdefault("403", self.FORBIDDEN)
            if limited:
                responses.setdefault("429", self.TOO_MANY)
            responses.setdefault("414", self.URI_TOO_LONG)


class StintApi(Api):
    """flask-smorest's Api, documenting and rendering errors in the one Stint shape."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error):
        """Render HTTP errors (including webargs validation) in the one shape."""
        return errors.render_http_exception(error)


def create_service_app(
    service: str,
    config: Settings | dict | None,
    title: str,
    description: str,
    *,
    blueprints: Sequence[ApiBlueprint] = (),
    ensure_indexes: Callable[[Database], None] | None = None,
) -> Flask:
    """A Flask app with everything a Stint service shares, serving the service's `blueprints` once its indexes are made.

    `config` is a Settings or a dict of Settings overrides; `ensure_indexes(db)` is the service's store's (idempotent).
    """
    settings = config if isinstance(config, Settings) else load_settings(service, **(config or {}))
    configure_logging(service)
    app = Flask(f"stint.{service}")
    app.config.update(
        API_TITLE=title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_ASSETS,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        API_SPEC_OPTIONS={
            "info": {"description": description},
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "security": [{"bearerAuth": []}],
        },
    )
    app.json.sort_keys = False
    app.extensions["stint_settings"] = settings
    app.extensions["stint_db"] = connect(settings)
    enable_publish_on_write(app.extensions["stint_db"], settings)
    app.extensions["stint_auth"] = TokenVerifier.from_settings(settings)
    api = StintApi(app, spec_kwargs={"extra_plugins": [StandardErrorsPlugin()]})
    errors.register_error_handlers(app)
    bind_request_ids(app)
    instrument(app, service)
    install_rate_limits(app, load_rate_limits(settings.extra, settings.env), service, too_many_requests)
    app.before_request(refuse_bodies_that_are_not_json)  # last, so the request is logged and counted
    api.register_blueprint(health_blp)
    app.register_blueprint(swagger_ui_assets)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    if ensure_indexes is not None:
        _ensure_indexes_before_first_use(app, ensure_indexes, {blueprint.name for blueprint in blueprints})
    return app


def _ensure_indexes_before_first_use(app: Flask, ensure_indexes: Callable[[Database], None], own: set[str]) -> None:
    """Create the indexes now or, if the database does not answer yet, before the first request to the service's own
    blueprints: a request served before a unique index exists could let a double write through, while health,
    metrics and docs answer regardless."""
    db = app.extensions["stint_db"]
    state = {"ready": False}

    def ensure() -> None:
        ensure_indexes(db)
        state["ready"] = True

    try:
        ensure()
    except ConnectionFailure as exc:
        log.warning("indexes_deferred_until_database_answers", error=str(exc)[:200])

    @app.before_request
    def _ensure_once():
        if not state["ready"] and request.blueprint in own:
            ensure()  # a database still down answers this request 503 (shared.errors)


def current_db() -> Database:
    """The database of the service answering this request."""
    return current_app.extensions["stint_db"]


def traceparent() -> str | None:
    """The caller's W3C trace context, passed on to the events this request causes (None when absent or malformed)."""
    value = request.headers.get("traceparent", "").strip()
    return value if TRACEPARENT.match(value) else None


def documents_errors(blueprint: ApiBlueprint, meanings: dict[int, str], *statuses: int):
    """Document the error responses a view can give, all in the one error shape, each with what it means here."""

    def decorate(view):
        for status in statuses:
            view = blueprint.alt_response(status, schema=errors.ErrorSchema, description=meanings[status])(view)
        return view

    return decorate


swagger_ui_assets = Blueprint(
    "swagger_ui_assets",
    __name__,
    static_folder=str(swagger_ui_bundle.swagger_ui_path),
    static_url_path=SWAGGER_UI_ASSETS.rstrip("/"),
)


def refuse_bodies_that_are_not_json():
    """A body sent as anything but JSON is a 415: webargs would read it as `{}` and quietly apply the defaults."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.content_length and not request.is_json:
        return errors.error_response(
            415, "unsupported_media_type", "send the body as JSON, with Content-Type: application/json"
        )
    return None
