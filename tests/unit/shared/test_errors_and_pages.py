from datetime import UTC, datetime

import pytest

from shared.errors import BadRequest
from shared.pagination import decode_cursor, encode_cursor
from shared.web import create_service_app


@pytest.fixture
def client():
    app = create_service_app("listing", {"auth_secret": "k" * 40, "mongo_url": "mongodb://127.0.0.1:1/"}, "T", "d")

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret detail that must not leak")

    return app.test_client()


def test_an_unknown_route_answers_404_in_the_error_shape(client):
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_a_wrong_method_answers_405_in_the_error_shape(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_an_unexpected_exception_is_a_bare_500_without_the_trace(client):
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json == {
        "error": {"code": "internal_error", "message": "an unexpected error occurred", "details": {}}
    }
    assert b"secret detail" not in response.data


def test_readiness_is_503_in_the_error_shape_when_nothing_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["details"]["broker"] == "unreachable"


def test_every_response_carries_a_request_id(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc"}).headers["X-Request-ID"] == "abc"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_a_cursor_round_trips_and_a_forged_one_is_a_400():
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert decode_cursor(encode_cursor([when, "id-1"])) == [when, "id-1"]
    with pytest.raises(BadRequest):
        decode_cursor("not-a-cursor!!")


@pytest.mark.parametrize("values", [["2026-01-01", "id-1"], [datetime(2026, 1, 1, tzinfo=UTC), 7], ["x", 1]])
def test_a_cursor_of_the_wrong_shape_is_a_400(values):
    with pytest.raises(BadRequest):
        decode_cursor(encode_cursor(values))


def test_a_cursor_smuggling_a_query_operator_is_a_400():
    with pytest.raises(BadRequest):
        decode_cursor(encode_cursor([{"$gt": ""}, "id-1"]))


def test_text_the_database_cannot_store_is_a_422_not_a_500(client):
    app = client.application

    @app.route("/store-text")
    def store_text():
        "\ud800".encode()  # what pymongo does with a lone surrogate from JSON
        return {}

    response = client.get("/store-text")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_text"


def test_a_write_that_lost_a_race_to_a_simultaneous_one_is_a_409_not_a_500(client):
    from pymongo.errors import DuplicateKeyError

    app = client.application

    @app.route("/race")
    def race():
        raise DuplicateKeyError("E11000 duplicate key error")

    response = client.get("/race")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "simultaneous_change"
