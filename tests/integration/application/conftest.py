"""Fixtures for the application service against the real database: an app, a client, listings, people."""

from __future__ import annotations

import pytest

from services.application.app import create_app
from services.application.read_model import record_listing
from tests.integration.application.app_support import ORG, OTHER_ORG, Calls, People, listing_event
from tests.support.apps import service_app


@pytest.fixture
def app_settings(settings_for):
    """Settings of the application service on this test's own database and topics."""
    return settings_for("application")


@pytest.fixture
def app(app_settings):
    """The application service's Flask app; its database is dropped afterwards."""
    with service_app(create_app, app_settings) as application:
        yield application


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def db(app):
    """The service's own database."""
    return app.extensions["stint_db"]


@pytest.fixture
def people(token) -> People:
    """A student, another student, the listing's employer, another org's employer, a university, an admin."""
    return People(
        student=token("student", sub="stu-asha", name="Asha Rao", email="asha@uni.example"),
        other_student=token("student", sub="stu-ben", name="Ben Ode", email="ben@uni.example"),
        employer=token("employer", sub="emp-carla", org=ORG, name="Carla Diaz", email="carla@acme.example"),
        other_employer=token("employer", sub="emp-dev", org=OTHER_ORG),
        university=token("university", sub="uni-verifier", org="org-uni"),
        admin=token("admin", sub="ops"),
    )


@pytest.fixture
def published_listing(db):
    """Put a published listing into the read model (as its event would); returns the snapshot."""

    def publish(**overrides) -> dict:
        event = listing_event("published", **overrides)
        record_listing(db, event)
        return event["data"]

    return publish


@pytest.fixture
def calls(client, people) -> Calls:
    """One-line calls to the service."""
    return Calls(client, people)
