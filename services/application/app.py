"""The application service's Flask app (port 8002)."""

from __future__ import annotations

import structlog
from flask import Flask, request
from pymongo.errors import ConnectionFailure

from services.application import store
from services.application.api import blp
from services.application.domain import Limits
from shared.config import ConfigError, Settings
from shared.web import create_service_app

log = structlog.get_logger(__name__)
DESCRIPTION = (
    "Students apply to published listings and submit their work; the listing's organisation shortlists, "
    "accepts within the seat limit, and reviews the work. Listings are known only from `stint.listing` events."
)


def create_app(config: Settings | dict | None = None) -> Flask:
    """Build the app; `config` is a Settings or a dict of Settings overrides."""
    app, api = create_service_app("application", config, "Stint application service", DESCRIPTION)
    try:
        app.extensions["stint_application_limits"] = Limits.from_extra(app.extensions["stint_settings"].extra)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    _ensure_indexes_before_first_use(app)
    api.register_blueprint(blp)
    return app


def _ensure_indexes_before_first_use(app: Flask) -> None:
    """Create the indexes now, or, if the database is still starting, before the first request it serves."""
    db = app.extensions["stint_db"]
    state = {"ready": False}

    def ensure() -> None:
        store.ensure_indexes(db)
        state["ready"] = True

    try:
        ensure()
    except ConnectionFailure as exc:
        log.warning("indexes_deferred_until_database_answers", error=str(exc)[:200])

    @app.before_request
    def _ensure_once():
        # A request served before the unique index exists could let a double apply through;
        # health, metrics and docs answer regardless.
        if not state["ready"] and request.blueprint == blp.name:
            ensure()
