"""The certification service's Flask application factory."""

from __future__ import annotations

from flask import Flask

from services.certification import api, endorsement_api, store
from services.certification.portfolio_api import portfolios_blp
from services.certification.runtime import Runtime
from shared.config import Settings
from shared.web import create_service_app

TITLE = "Stint certification service"
DESCRIPTION = (
    "Issues Open Badges 3.0 credentials (W3C VC 2.0, Data Integrity eddsa-rdfc-2022) for approved fieldwork, "
    "verifies them, publishes the issuer's did:web and revocation lists, and records universities' credit decisions."
)
BLUEPRINTS = (
    api.credentials_blp,
    api.verify_blp,
    api.issuer_blp,
    api.universities_blp,
    portfolios_blp,
    endorsement_api.endorsements_blp,
)


def create_app(config: Settings | dict | None = None) -> Flask:
    """Build the certification API (config: Settings or a dict of Settings overrides)."""
    app = create_service_app(
        "certification", config, TITLE, DESCRIPTION, blueprints=BLUEPRINTS, ensure_indexes=store.ensure_indexes
    )
    app.extensions["certification_runtime"] = Runtime.create(
        app.extensions["stint_settings"], app.extensions["stint_db"]
    )
    app.before_request(api.allow_large_batches)
    return app
