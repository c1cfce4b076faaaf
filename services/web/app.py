"""The web front door: create_app() wires settings, sessions, sign-in, CSRF, security headers, pages and errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, jsonify
from flask_wtf.csrf import CSRFProtect

from services.web import auth, errors, templating
from services.web.security import security_headers
from services.web.sessions import MongoSessionInterface, SessionStore
from services.web.settings import WebSettings, load_web_settings
from services.web.views import BLUEPRINTS
from shared.logs import bind_request_ids, configure_logging
from shared.mongo import connect, ping
from shared.rate_limits import install as install_rate_limits

csrf = CSRFProtect()


def create_app(config: WebSettings | dict | None = None, session_collection=None) -> Flask:
    """The web app; `config` overrides settings, `session_collection` replaces the session store's (tests)."""
    settings = config if isinstance(config, WebSettings) else load_web_settings(**(config or {}))
    configure_logging("web")
    app = Flask("stint.web", root_path=str(Path(__file__).parent))
    app.config.update(
        SECRET_KEY=settings.session_secret,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,  # a batch of credential files to verify
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["stint_web_settings"] = settings
    db = None
    if session_collection is None:
        db = connect(settings)
        session_collection = db["sessions"]
    app.extensions["stint_web_db"] = db
    app.session_interface = MongoSessionInterface(
        SessionStore(session_collection, timedelta(hours=settings.session_hours)), settings.secure_cookies
    )
    csrf.init_app(app)
    bind_request_ids(app)
    auth.init_auth(app, settings)
    templating.init_templating(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    errors.register_error_pages(app)
    install_rate_limits(app, settings.rate_limits, "web", errors.too_many_tries)
    app.after_request(security_headers(settings))
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    return app


def healthz():
    """The process is alive."""
    return jsonify({"status": "ok"})


def readyz():
    """Ready when the session database answers."""
    db = current_app.extensions["stint_web_db"]
    try:
        if db is not None:
            ping(db)
    except Exception:  # noqa: BLE001 - any failure means not ready
        return jsonify({"status": "unavailable", "checks": {"database": False}}), 503
    return jsonify({"status": "ok", "checks": {"database": True}})
