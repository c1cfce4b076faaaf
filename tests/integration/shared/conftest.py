"""Fixtures of the shared plumbing's tests: listing-named settings with their topics, and a database whose orgs
collection carries an outbox index (dropped after each test)."""

from __future__ import annotations

import pytest
from pymongo import MongoClient

from shared.outbox import ensure_outbox_index
from tests.support.pipeline import create_topics


@pytest.fixture
def settings(settings_for):
    settings = settings_for("listing")
    create_topics(settings)
    return settings


@pytest.fixture
def db(servers, settings):
    client = MongoClient(servers.mongo_url, tz_aware=True)
    database = client[settings.database_name]
    ensure_outbox_index(database.orgs)
    yield database
    client.drop_database(settings.database_name)
    client.close()
