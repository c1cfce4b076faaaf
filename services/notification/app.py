"""Application factory of the notification service."""

from __future__ import annotations

import structlog
from pymongo.errors import PyMongoError

from services.notification import store
from services.notification.api import BLUEPRINTS
from shared.web import create_service_app

log = structlog.get_logger(__name__)
DESCRIPTION = (
    "Stint's notification service: reacts to the platform's events with in-app notifications, "
    "emails and signed webhook calls; users choose their channels."
)


def create_app(config=None):
    """Build the Flask app; `config` is a Settings or a dict of Settings overrides."""
    app, api = create_service_app("notification", config, "Stint notifications", DESCRIPTION)
    try:
        store.ensure_indexes(app.extensions["stint_db"])
    except PyMongoError as exc:  # the worker creates them too; /readyz reports the database meanwhile
        log.warning("indexes_not_ensured", error=str(exc)[:300])
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    return app
