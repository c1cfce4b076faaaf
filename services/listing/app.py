"""The listing service's Flask app factory."""

from __future__ import annotations

from flask import Flask

from services.listing import store
from services.listing.api import categories, listings, orgs, people
from services.listing.domain import StipendFloor
from services.listing.identity import IdentityProvider
from shared.config import ConfigError, Settings
from shared.web import create_service_app

DESCRIPTION = (
    "Organisations register and, once an administrator verifies them, publish micro-internship "
    "listings with a written brief; anyone searches the published ones."
)


def create_app(config: Settings | dict | None = None) -> Flask:
    """Build the listing API: the shared skeleton with its blueprints and indexes, the stipend floor, the identity."""
    app = create_service_app(
        "listing",
        config,
        "Stint listing service",
        DESCRIPTION,
        blueprints=(orgs, listings, people, categories),
        ensure_indexes=store.ensure_indexes,
    )
    extra = app.extensions["stint_settings"].extra
    try:
        app.extensions["stint_stipend_floor"] = StipendFloor.from_extra(extra)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    app.extensions["stint_identity_provider"] = IdentityProvider.from_settings(extra)
    return app
