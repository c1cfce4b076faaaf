"""Every page: a strict Content-Security-Policy, no framing, CSRF on every form, friendly errors, safe redirects."""

import re
from pathlib import Path

import pytest

from services.web.auth import safe_next
from services.web.settings import load_web_settings
from shared.config import ConfigError

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "web" / "templates"


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/verify")
    policy = response.headers["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self' http://127.0.0.1:9" in policy  # the Keycloak origin, where sign-out redirects
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_template_has_inline_script_style_or_outside_assets():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert "<style" not in text and " style=" not in text, template
        assert not re.search(r"(src|href)=\"https?://", text), template


def test_every_post_form_carries_a_csrf_token():
    for template in TEMPLATES.rglob("*.html"):
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", template.read_text(), flags=re.S):
            assert "csrf" in form, f"{template.name}: {form[:120]}"


def test_a_form_sent_without_its_csrf_token_is_refused_with_a_page(app):
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/verify", data={"credential": "x"})

    assert response.status_code == 400
    assert b"This form was open too long or was not sent from Stint" in response.data
    assert b"Traceback" not in response.data


def test_a_form_with_its_csrf_token_gets_through_to_the_page(app):
    client = app.test_client()
    page = client.get("/verify").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    response = client.post("/verify", data={"credential": "", "csrf_token": token})

    assert response.status_code == 400
    assert "Enter the credential&#39;s link or id, or choose its file." in response.get_data(as_text=True)


def test_a_page_of_a_signed_in_person_sends_them_to_sign_in_first(client):
    response = client.get("/student/credentials")

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/sign-in?next=/student/credentials"


def test_an_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert b"Page not found" in response.data


def test_an_unreachable_service_is_a_friendly_503_not_a_stack_trace(client):
    response = client.get("/")

    assert response.status_code == 503
    assert b"not answering" in response.data and b"Traceback" not in response.data


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "\\\\evil", "evil", None])
def test_after_sign_in_only_a_path_on_this_site_is_followed(target):
    assert safe_next(target) is None


def test_production_refuses_insecure_settings():
    production = {"STINT_ENV": "production", "STINT_WEB_CLIENT_SECRET": "c", "STINT_WEB_SESSION_SECRET": "s" * 40}
    production["STINT_RATE_LIMIT_STORAGE"] = "redis://redis:6379/0"  # production never counts in process memory
    with pytest.raises(ConfigError, match="https"):
        load_web_settings({**production, "STINT_WEB_URL": "http://stint.example"})
    with pytest.raises(ConfigError, match="Secure"):
        load_web_settings({**production, "STINT_WEB_URL": "https://stint.example", "STINT_WEB_SECURE_COOKIES": "0"})
    with pytest.raises(ConfigError, match="SESSION_SECRET"):
        load_web_settings({**production, "STINT_WEB_URL": "https://x.example", "STINT_WEB_SESSION_SECRET": "secret"})
    assert load_web_settings({**production, "STINT_WEB_URL": "https://stint.example"}).secure_cookies
    assert load_web_settings({**production, "STINT_WEB_URL": "http://localhost:8000"}).secure_cookies


def test_local_dev_over_http_sends_cookies_without_secure():
    settings = load_web_settings({"STINT_WEB_CLIENT_SECRET": "c", "STINT_WEB_SESSION_SECRET": "s"})
    assert settings.secure_cookies is False


def test_every_template_compiles(app):
    for template in TEMPLATES.rglob("*.html"):
        app.jinja_env.get_template(str(template.relative_to(TEMPLATES)))
