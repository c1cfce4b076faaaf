"""The application service's Flask app (port 8002)."""

from __future__ import annotations

from flask import Flask

from services.application import store
from services.application.api import blp
from services.application.domain import Limits
from shared.config import ConfigError, Settings
from shared.web import create_service_app

DESCRIPTION = (
    "Students apply to published listings and submit their work; the listing's organisation shortlists, "
    "accepts within the seat limit, and reviews the work. Listings are known only from `stint.listing` events."
)


def create_app(config: Settings | dict | None = None) -> Flask:
    """Build the app; `config` is a Settings or a dict of Settings overrides."""
    app = create_service_app(
        "application",
        config,
        "Stint application service",
        DESCRIPTION,
        blueprints=(blp,),
        ensure_indexes=store.ensure_indexes,
    )
    try:
        app.extensions["stint_application_limits"] = Limits.from_extra(app.extensions["stint_settings"].extra)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return app
