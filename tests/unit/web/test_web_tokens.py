"""Tokens stay on the server and are refreshed before they expire; a refused refresh means signing in again."""

import time

import jwt
import pytest
from authlib.integrations.base_client import OAuthError

from services.web import auth


def access_token(**claims):
    return jwt.encode(
        {"sub": "u1", "name": "Asha", "email": "asha@example.in", **claims},
        "unit-test-key-" + "k" * 32,
        algorithm="HS256",
    )


def test_a_fresh_token_is_used_as_it_is(app):
    with app.test_request_context():
        auth.store_tokens({"access_token": access_token(role="student"), "refresh_token": "r", "expires_in": 300})

        assert auth.access_token() == auth.session["tokens"]["access_token"]
        assert auth.current_person().role == "student"


def test_a_token_about_to_expire_is_refreshed_first(app, monkeypatch):
    fresh = access_token(role="employer", org="acme")
    calls = []

    def refresh(**params):
        calls.append(params)
        return {"access_token": fresh, "refresh_token": "r2", "expires_in": 300}

    monkeypatch.setattr(auth.oauth.keycloak, "fetch_access_token", refresh)
    with app.test_request_context():
        auth.store_tokens({"access_token": access_token(), "refresh_token": "r1", "id_token": "i", "expires_in": 10})

        assert auth.access_token() == fresh
        assert calls == [{"grant_type": "refresh_token", "refresh_token": "r1"}]
        assert auth.current_person().org == "acme"
        assert auth.session["tokens"]["id_token"] == "i"  # kept for sign-out when a refresh brings none


def test_a_refused_refresh_ends_the_session(app, monkeypatch):
    def refuse(**_params):
        raise OAuthError(error="invalid_grant")

    monkeypatch.setattr(auth.oauth.keycloak, "fetch_access_token", refuse)
    with app.test_request_context():
        auth.store_tokens({"access_token": access_token(), "refresh_token": "r", "expires_at": time.time() - 1})

        with pytest.raises(auth.SignInRequired):
            auth.access_token()
        assert "tokens" not in auth.session


def test_a_person_without_a_role_is_sent_to_choose_one(app):
    client = app.test_client()
    with app.test_request_context():
        auth.store_tokens({"access_token": access_token(), "refresh_token": "r", "expires_in": 300})
        stored = dict(auth.session)
    with client.session_transaction() as session:
        session.update(stored)

    response = client.get("/student")

    assert response.status_code == 302 and response.headers["Location"] == "/welcome"


def test_a_public_page_stays_open_when_the_sign_in_has_lapsed(app, monkeypatch):
    def refuse(**_params):
        raise OAuthError(error="invalid_grant")

    monkeypatch.setattr(auth.oauth.keycloak, "fetch_access_token", refuse)
    client = app.test_client()
    with app.test_request_context():
        auth.store_tokens({"access_token": access_token(role="student"), "refresh_token": "r", "expires_in": 0})
        stored = dict(auth.session)
    with client.session_transaction() as session:
        session.update(stored)

    public = client.get("/verify/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed")
    assert public.status_code == 503  # asked of the (here unreachable) service as anyone, not sent to sign in
    assert client.get("/student").status_code == 302  # a personal page asks to sign in
