import subprocess
import sys
import time

import jwt
import pytest

from shared.auth import current_principal, mint_token, require
from shared.web import create_service_app

SECRET = "k" * 40


@pytest.fixture
def client():
    app = create_service_app("listing", {"auth_secret": SECRET}, "T", "d")

    @app.route("/admin-only")
    @require("admin")
    def admin_only():
        return {"sub": current_principal().sub}

    return app.test_client()


def call(client, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/admin-only", headers=headers)


def test_the_right_role_gets_through(client):
    response = call(client, mint_token(SECRET, "root", "admin"))
    assert response.status_code == 200 and response.json == {"sub": "root"}


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        (None, 401, "token_missing"),
        ("not.a.jwt", 401, "invalid_token"),
        (mint_token(SECRET, "root", "admin", ttl_seconds=-120), 401, "token_expired"),
        (mint_token("w" * 40, "root", "admin"), 401, "invalid_token"),
        (jwt.encode({"sub": "x", "exp": int(time.time()) + 86400}, SECRET, algorithm="HS256"), 403, "role_missing"),
        (mint_token(SECRET, "s1", "student"), 403, "wrong_role"),
    ],
    ids=["no token", "garbage", "expired", "wrongly signed", "role-less", "wrong role"],
)
def test_bad_tokens_are_refused_in_the_error_shape(client, token, status, code):
    response = call(client, token)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert set(response.json["error"]) == {"code", "message", "details"}
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_mint_command_prints_a_token_the_services_accept(tmp_path):
    env = {"STINT_AUTH_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "shared.auth", "mint", "--role", "employer", "--sub", "u1", "--org", "acme"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["org"]) == ("u1", "employer", "acme")
