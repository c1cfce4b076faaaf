"""Application factory of the notification service."""

from __future__ import annotations

from flask import Flask

from services.notification import store
from services.notification.api import BLUEPRINTS
from shared.config import Settings
from shared.web import create_service_app

DESCRIPTION = (
    "Stint's notification service: reacts to the platform's events with in-app notifications, "
    "emails and signed webhook calls; users choose their channels."
)


def create_app(config: Settings | dict | None = None) -> Flask:
    """Build the Flask app; `config` is a Settings or a dict of Settings overrides."""
    return create_service_app(
        "notification",
        config,
        "Stint notifications",
        DESCRIPTION,
        blueprints=BLUEPRINTS,
        ensure_indexes=store.ensure_indexes,
    )
