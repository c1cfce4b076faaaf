"""The common skeleton of every service's Flask app: settings, logs, errors, auth, health, OpenAPI."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from shared import errors
from shared.auth import TokenVerifier
from shared.config import Settings, load_settings
from shared.health import blp as health_blp
from shared.logs import bind_request_ids, configure_logging
from shared.metrics import instrument
from shared.mongo import connect

MAX_REQUEST_BYTES = 1024 * 1024
SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/"


class StintApi(Api):
    """flask-smorest's Api, documenting and rendering errors in the one Stint shape."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error):
        """Render HTTP errors (including webargs validation) in the one shape."""
        return errors.render_http_exception(error)


def create_service_app(
    service: str, config: Settings | dict | None, title: str, description: str
) -> tuple[Flask, StintApi]:
    """A Flask app with everything a Stint service shares; the caller adds its blueprints."""
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
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
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
    app.extensions["stint_auth"] = TokenVerifier.from_settings(settings)
    api = StintApi(app)
    errors.register_error_handlers(app)
    bind_request_ids(app)
    instrument(app, service)
    api.register_blueprint(health_blp)
    return app, api
