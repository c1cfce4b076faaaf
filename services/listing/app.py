"""The listing service's Flask app factory."""

from __future__ import annotations

import structlog
from pymongo.errors import PyMongoError

from services.listing import store
from services.listing.api import categories, listings, orgs, people
from services.listing.domain import StipendFloor
from services.listing.identity import IdentityProvider
from shared.config import ConfigError, Settings
from shared.web import create_service_app

log = structlog.get_logger(__name__)

DESCRIPTION = (
    "Organisations register and, once an administrator verifies them, publish micro-internship "
    "listings with a written brief; anyone searches the published ones."
)


def create_app(config: Settings | dict | None = None):
    """Build the listing API: shared skeleton, indexes, blueprints."""
    app, api = create_service_app("listing", config, "Stint listing service", DESCRIPTION)
    try:
        store.ensure_indexes(app.extensions["stint_db"])
    except PyMongoError as exc:  # the worker ensures them too; the API still starts and answers 503 meanwhile
        log.warning("indexes_not_ensured", error=str(exc)[:300])
    try:
        app.extensions["stint_stipend_floor"] = StipendFloor.from_extra(app.extensions["stint_settings"].extra)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    app.extensions["stint_identity_provider"] = IdentityProvider.from_settings(app.extensions["stint_settings"].extra)
    api.register_blueprint(orgs)
    api.register_blueprint(listings)
    api.register_blueprint(people)
    api.register_blueprint(categories)
    return app
