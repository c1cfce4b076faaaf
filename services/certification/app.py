"""The certification service's Flask application factory."""

from __future__ import annotations

from services.certification import api, endorsement_api, store
from services.certification.portfolio_api import portfolios_blp
from services.certification.runtime import Runtime
from shared.web import create_service_app

TITLE = "Stint certification service"
DESCRIPTION = (
    "Issues Open Badges 3.0 credentials (W3C VC 2.0, Data Integrity eddsa-rdfc-2022) for approved fieldwork, "
    "verifies them, publishes the issuer's did:web and revocation lists, and records universities' credit decisions."
)


def create_app(config=None):
    """Build the certification API (config: Settings or a dict of Settings overrides)."""
    app, flask_api = create_service_app("certification", config, TITLE, DESCRIPTION)
    settings = app.extensions["stint_settings"]
    db = app.extensions["stint_db"]
    store.ensure_indexes(db)
    app.extensions["certification_runtime"] = Runtime.create(settings, db)
    app.before_request(api.allow_large_batches)
    blueprints = (api.credentials_blp, api.verify_blp, api.issuer_blp, api.universities_blp, portfolios_blp)
    for blueprint in (*blueprints, endorsement_api.endorsements_blp):
        flask_api.register_blueprint(blueprint)
    return app
