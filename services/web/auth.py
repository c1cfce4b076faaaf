"""Signing in with OpenID Connect (Keycloak): authorization code + PKCE S256 through Authlib's Flask client; the
tokens stay in the server-side session, are refreshed before they expire, and sign-out ends the Keycloak session."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import requests
import structlog
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for

log = structlog.get_logger(__name__)
REFRESH_MARGIN_SECONDS = 30  # refresh this long before the access token expires, so no call carries a dead one
oauth = OAuth()
blp = Blueprint("auth", __name__, url_prefix="/auth")


class SignInRequired(Exception):
    """The person must sign in (again): no session, or Keycloak refused to refresh it."""


@dataclass(frozen=True)
class Person:
    """Who is signed in, as their latest access token says (for pages only: the APIs decide what they may do)."""

    sub: str
    name: str
    email: str
    role: str | None
    org: str | None

    @property
    def display_name(self) -> str:
        """The name to greet them by."""
        return self.name or self.email or "you"


def init_auth(app, settings) -> None:
    """Register the Keycloak client and the sign-in routes."""
    oauth.init_app(app)
    oauth.register(
        "keycloak",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": 10},
    )
    app.register_blueprint(blp)
    app.register_error_handler(SignInRequired, sign_in_again)


def _settings():
    return current_app.extensions["stint_web_settings"]


def _claims(access_token: str) -> dict:
    # The token came straight from Keycloak's token endpoint over the back channel, so it is read, not re-verified:
    # the web only uses it to choose pages; every API verifies it against Keycloak's keys before acting on it.
    return jwt.decode(access_token, options={"verify_signature": False})


def person_from(access_token: str) -> dict:
    """The person a token names, as stored in the session."""
    claims = _claims(access_token)
    return {
        "sub": claims.get("sub", ""),
        "name": claims.get("name") or claims.get("preferred_username") or "",
        "email": claims.get("email", ""),
        "role": claims.get("role") or None,
        "org": claims.get("org") or None,
    }


def store_tokens(token: dict, now: float | None = None) -> None:
    """Keep a token response in the session (the id token of sign-in stays when a refresh brings none)."""
    now = time.time() if now is None else now
    previous = session.get("tokens") or {}
    refresh_in = token.get("refresh_expires_in")
    session["tokens"] = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token") or previous.get("refresh_token"),
        "id_token": token.get("id_token") or previous.get("id_token"),
        "expires_at": float(token.get("expires_at") or now + float(token.get("expires_in", 60))),
        "refresh_expires_at": now + float(refresh_in) if refresh_in else None,
    }
    session["person"] = person_from(token["access_token"])


def current_person() -> Person | None:
    """The signed-in person, or None."""
    person = session.get("person")
    return Person(**person) if person and session.get("tokens") else None


def access_token(now: float | None = None) -> str | None:
    """The person's access token, refreshed first when it is about to expire; None when nobody is signed in."""
    tokens = session.get("tokens")
    if not tokens:
        return None
    now = time.time() if now is None else now
    if tokens["expires_at"] - REFRESH_MARGIN_SECONDS > now:
        return tokens["access_token"]
    return refresh_tokens()


def refresh_tokens() -> str:
    """Trade the refresh token for fresh tokens (also to see a role or organisation just set); the new access token."""
    tokens = session.get("tokens") or {}
    if not tokens.get("refresh_token"):
        raise SignInRequired()
    try:
        token = oauth.keycloak.fetch_access_token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    except (OAuthError, requests.RequestException, KeyError) as exc:
        log.info("token_refresh_failed", error=type(exc).__name__)
        session.clear()
        raise SignInRequired() from None
    store_tokens(token)
    return token["access_token"]


def safe_next(target: str | None) -> str | None:
    """A path on this site to return to after sign-in; anything else (another host, //evil) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def sign_in_again(_exc=None):
    """Send the person to sign in, coming back to this page afterwards."""
    flash("Please sign in to continue.", "info")
    nxt = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.sign_in", next=safe_next(nxt)))


def signed_in(*roles: str, needs_org: bool = True):
    """View decorator: a signed-in person with one of `roles` (any when empty), onboarded first.

    A person without a role is sent to choose one; an employer without an organisation, to register it.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            person = current_person()
            if person is None:
                raise SignInRequired()
            if person.role is None:
                return redirect(url_for("account.choose_role"))
            if person.role == "employer" and not person.org and needs_org:
                return redirect(url_for("employer.register_org"))
            if roles and person.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def landing_page(person: Person) -> str:
    """Where a person goes after signing in."""
    if person.role is None:
        return url_for("account.choose_role")
    if person.role == "employer" and not person.org:
        return url_for("employer.register_org")
    return url_for(f"{person.role}.home")


@blp.get("/sign-in")
def sign_in():
    """Send the person to Keycloak's sign-in page."""
    return _authorize()


@blp.get("/sign-up")
def sign_up():
    """Send the person to Keycloak's registration page (OIDC prompt=create)."""
    return _authorize(prompt="create")


def _authorize(**params):
    nxt = safe_next(request.args.get("next"))
    if nxt:
        session["after_sign_in"] = nxt
    redirect_uri = _settings().web_url + url_for("auth.callback")
    try:
        return oauth.keycloak.authorize_redirect(redirect_uri, **params)
    except requests.RequestException:
        log.warning("keycloak_unreachable")
        return render_template("errors/error.html", title="Sign-in is not available", status=503), 503


@blp.get("/callback")
def callback():
    """Keycloak sends the person back here with a code: trade it for tokens and start their session."""
    try:
        token = oauth.keycloak.authorize_access_token()
    except (OAuthError, requests.RequestException) as exc:
        log.info("sign_in_failed", error=getattr(exc, "error", None) or type(exc).__name__)
        return render_template("auth/failed.html"), 400
    after = session.pop("after_sign_in", None)
    session.clear()
    session.regenerate()
    store_tokens(token)
    person = current_person()
    if after and person.role and not (person.role == "employer" and not person.org):
        return redirect(after)
    return redirect(landing_page(person))


@blp.post("/sign-out")
def sign_out():
    """End the session here and at Keycloak (every app signed in through it), then come back home."""
    id_token = (session.get("tokens") or {}).get("id_token")
    session.clear()
    session.regenerate()
    settings = _settings()
    try:
        end_session = oauth.keycloak.load_server_metadata().get("end_session_endpoint")
    except requests.RequestException:
        end_session = None
    if not end_session:
        flash("You have signed out.", "success")
        return redirect(url_for("public.home"))
    query = {"post_logout_redirect_uri": settings.web_url + "/", "client_id": settings.client_id}
    if id_token:
        query["id_token_hint"] = id_token
    return redirect(f"{end_session}?{urlencode(query)}")


def account_console_url() -> str:
    """Keycloak's own account page, where people change their password or name."""
    settings = _settings()
    return f"{settings.browser_keycloak_url}/realms/{settings.realm}/account"
