"""Fixtures for the certification service on the real servers: app, client, runtime and issuing helpers."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

import pytest
import requests
from werkzeug.serving import make_server

from services.certification import issuing
from services.certification.app import create_app
from services.certification.runtime import Runtime
from shared.events import new_event, read_event
from tests.support import independent_verifier
from tests.support.apps import service_app
from tests.unit.certification.samples import work_approved_data


@pytest.fixture
def cert_settings(settings_for, tmp_path):
    """Settings for this test's own database, topics and key directory."""
    return settings_for("certification", signing_key_dir=str(tmp_path / "keys"))


@pytest.fixture
def app(cert_settings):
    """The certification Flask app; its database is dropped afterwards."""
    with service_app(create_app, cert_settings) as application:
        yield application


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runtime(app) -> Runtime:
    """The use-case runtime the app runs on (same database and keys)."""
    return app.extensions["certification_runtime"]


def approved_event(**overrides) -> dict:
    """A stint.work.approved.v1 CloudEvent, checked against the catalog."""
    data = work_approved_data(**overrides)
    return new_event("stint.work.approved.v1", "application", data["application_id"], data)


@pytest.fixture
def issue(runtime):
    """Issue a credential as the worker would; returns the stored record."""

    def run(**overrides) -> dict:
        event = approved_event(**overrides)
        issuing.issue_credential(runtime, read_event(event))
        return runtime.db["credentials"].find_one({"application_id": event["data"]["application_id"]})

    return run


@pytest.fixture
def as_role(token):
    """Authorization headers for a role: as_role("university", org="uni-1")."""

    def headers(role: str, **claims) -> dict:
        if role in ("employer", "university") and "org" not in claims:
            claims["org"] = f"{role}-org"
        return {"Authorization": f"Bearer {token(role, **claims)}"}

    return headers


@pytest.fixture
def verified_university(client, as_role):
    """Register a university under `org` (through PUT /universities/me) and have an admin verify it; idempotent."""

    def run(org: str = "university-org", name: str = "") -> dict:
        headers = as_role("university", org=org)
        existing = client.get(f"/universities/{org}", headers=headers)
        if existing.status_code == 200 and existing.get_json()["status"] == "verified":
            return existing.get_json()
        if existing.status_code == 404:
            profile = {
                "name": name or f"University {org}",
                "aishe_code": f"U-{secrets.randbelow(10**6)}",
                "website": "https://university.example.ac.in",
            }
            registered = client.put("/universities/me", json=profile, headers=headers)
            assert registered.status_code == 200, registered.get_json()
        verified = client.post(f"/universities/{org}/verify", headers=as_role("admin"))
        assert verified.status_code == 200, verified.get_json()
        return verified.get_json()

    return run


@pytest.fixture
def ask_credit(client, as_role, verified_university):
    """The student of `record` asks a (verified) university for credit for it, as decisions now require."""

    def run(record: dict, university: str = "university-org", **body) -> dict:
        verified_university(university)
        student = as_role("student", sub=record["student"]["id"])
        asked = client.post(
            "/credit-requests",
            json={"credential_id": record["credential_id"], "university_id": university, **body},
            headers=student,
        )
        assert asked.status_code == 201, asked.get_json()
        return asked.get_json()

    return run


@dataclass
class LiveService:
    """The certification service answering on a real port, and the runtime issuing on the same database."""

    url: str
    runtime: Runtime

    def issue(self, **overrides) -> dict:
        """Issue a credential as the worker would; the signed credential as the service serves it."""
        event = approved_event(**overrides)
        issued = issuing.issue_credential(self.runtime, read_event(event))
        uuid = issued["credential_id"].removeprefix("urn:uuid:")
        response = requests.get(f"{self.url}/credentials/{uuid}", timeout=10)
        assert response.status_code == 200
        return response.json()


@pytest.fixture
def live(settings_for, tmp_path):
    """The service on 127.0.0.1:<free port>, its public URL (and so its did:web) being that address."""
    holder = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = settings_for("certification", signing_key_dir=str(tmp_path / "keys"), public_url=url)
    with service_app(create_app, settings) as app:
        holder["app"] = app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield LiveService(url, app.extensions["certification_runtime"])
        finally:
            server.shutdown()
            thread.join(timeout=5)


@pytest.fixture(scope="session")
def node():
    """node, with the independent verifier's packages installed (npm ci); skips saying why when it can't."""
    return independent_verifier.install()
