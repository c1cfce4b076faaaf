"""The one service skeleton (shared/web.py): a service's blueprints, its indexes, the caller's trace context."""

from __future__ import annotations

from flask_smorest import Blueprint
from pymongo.errors import ConnectionFailure

from shared.web import create_service_app, traceparent

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CONFIG = {"auth_secret": "k" * 40, "mongo_url": "mongodb://127.0.0.1:1/"}


class DatabaseStartingUp:
    """An ensure_indexes whose database does not answer the first `refusals` times."""

    def __init__(self, refusals: int):
        self.refusals = refusals
        self.made = 0

    def __call__(self, db) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionFailure("database not up yet")
        self.made += 1


def app_with(ensure_indexes):
    things = Blueprint("things", __name__, url_prefix="/things")

    @things.route("")
    def list_things():
        return {"traceparent": traceparent()}

    return create_service_app("listing", CONFIG, "T", "d", blueprints=(things,), ensure_indexes=ensure_indexes)


def test_the_indexes_are_made_once_when_the_service_starts():
    indexes = DatabaseStartingUp(refusals=0)
    client = app_with(indexes).test_client()
    assert client.get("/things").status_code == 200
    assert indexes.made == 1


def test_a_service_started_before_its_database_makes_its_indexes_before_its_first_own_request():
    indexes = DatabaseStartingUp(refusals=2)
    client = app_with(indexes).test_client()
    assert client.get("/healthz").status_code == 200 and indexes.made == 0  # health answers regardless
    refused = client.get("/things")
    assert refused.status_code == 503 and refused.json["error"]["code"] == "database_unavailable"
    assert client.get("/things").status_code == 200
    client.get("/things")
    assert indexes.made == 1


def test_the_openapi_document_lists_the_service_blueprints():
    paths = app_with(DatabaseStartingUp(refusals=0)).test_client().get("/openapi.json").json["paths"]
    assert "/things" in paths and "/healthz" in paths


def test_a_well_formed_traceparent_is_passed_on_and_anything_else_dropped():
    client = app_with(DatabaseStartingUp(refusals=0)).test_client()
    assert client.get("/things", headers={"traceparent": TRACEPARENT}).json == {"traceparent": TRACEPARENT}
    assert client.get("/things", headers={"traceparent": "not-a-trace"}).json == {"traceparent": None}
    assert client.get("/things").json == {"traceparent": None}
