"""Fixtures for the listing service on the real servers: an app, its database, callers and an event tap."""

from __future__ import annotations

import pytest

from services.listing import store
from services.listing.app import create_app
from tests.support.apps import service_app
from tests.support.pipeline import consume_until, consumer_for, create_topics, publish_pending
from tests.support.samples import listing_body

OWN_ORG, OTHER_ORG = "acme", "globex"


@pytest.fixture
def settings(settings_for):
    """The listing service's settings, with this test's own database and topics."""
    settings = settings_for("listing")
    create_topics(settings)
    return settings


@pytest.fixture
def app(settings):
    with service_app(create_app, settings) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    return app.extensions["stint_db"]


def auth_header(bearer: str) -> dict:
    return {"Authorization": f"Bearer {bearer}"}


@pytest.fixture
def callers(token):
    """Authorization headers for every kind of caller."""
    return {
        "nobody": {},
        "student": auth_header(token("student", sub="stu-1")),
        "employer": auth_header(token("employer", sub="emp-1", org=OWN_ORG, email="hr@acme.example")),
        "other_employer": auth_header(token("employer", sub="emp-2", org=OTHER_ORG)),
        "university": auth_header(token("university", sub="uni-1", org="iitm")),
        "admin": auth_header(token("admin", sub="admin-1")),
    }


class Platform:
    """Drives the listing API the way its users do, asserting each step succeeds."""

    def __init__(self, client, callers):
        self.client = client
        self.callers = callers

    def register(self, who: str = "employer", name: str = "Acme Labs") -> dict:
        body = {"name": name, "website": "https://acme.example", "registration_id": "U72900KA2020PTC123456"}
        response = self.client.put("/orgs/me", json=body, headers=self.callers[who])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def verify(self, org_id: str = OWN_ORG) -> dict:
        response = self.client.post(f"/orgs/{org_id}/verify", headers=self.callers["admin"])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def create(self, who: str = "employer", **overrides) -> dict:
        response = self.client.post("/listings", json=listing_body(**overrides), headers=self.callers[who])
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def publish(self, listing_id: str, who: str = "employer") -> dict:
        response = self.client.post(f"/listings/{listing_id}/publish", headers=self.callers[who])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def published_listing(self, **overrides) -> dict:
        """A verified organisation's published listing."""
        return self.publish(self.create(**overrides)["id"])

    def search(self, **query) -> dict:
        response = self.client.get("/listings", query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def platform(client, callers):
    return Platform(client, callers)


@pytest.fixture
def verified_org(platform):
    """The employer's organisation, registered and verified."""
    platform.register()
    return platform.verify()


class EventTap:
    """Publishes the service's outbox and reads back what reached the broker."""

    def __init__(self, settings, db, tap_db):
        self.settings = settings
        self.db = db
        self.events: list[dict] = []
        record = self.events.append
        handlers = {
            event_type: record
            for event_type in (
                "stint.org.registered.v1",
                "stint.org.verified.v1",
                "stint.listing.published.v1",
                "stint.listing.updated.v1",
                "stint.listing.closed.v1",
            )
        }
        self.consumer = consumer_for(settings, tap_db, ["listing"], handlers, group=f"{settings.topic_prefix}tap")

    def flush(self) -> int:
        """Publish every pending event of the service."""
        return publish_pending(self.settings, store.outbox_collections(self.db))

    def read(self, count: int) -> list[dict]:
        """Publish what is pending and wait until `count` events in all have arrived."""
        self.flush()
        consume_until(self.consumer, lambda: len(self.events) >= count)
        return self.events

    def of(self, subject: str) -> list[tuple[str, int | None]]:
        """(type, version) of the events about one aggregate, in order."""
        return [(e["type"], e["data"].get("version")) for e in self.events if e["subject"] == subject]

    def last(self, subject: str) -> dict:
        """The newest event about one aggregate (order holds per aggregate, not across them)."""
        return [e for e in self.events if e["subject"] == subject][-1]


@pytest.fixture
def tap(settings, db):
    tap_db = db.client[f"{db.name}_tap"]
    event_tap = EventTap(settings, db, tap_db)
    yield event_tap
    event_tap.consumer.close()
    db.client.drop_database(tap_db.name)
