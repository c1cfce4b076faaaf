"""Sessions live on the server: the cookie carries only an opaque id; expiry is stored and checked (no TTL index)."""

from datetime import UTC, datetime, timedelta

from pymongo.errors import ServerSelectionTimeoutError

from services.web.sessions import SessionStore
from tests.unit.web.fakes import FakeSessionCollection

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_a_saved_session_loads_back_until_it_expires():
    store = SessionStore(FakeSessionCollection(), timedelta(hours=8))
    store.save("abc", {"tokens": {"access_token": "t"}}, NOW)

    assert store.load("abc", NOW + timedelta(hours=7))[0] == {"tokens": {"access_token": "t"}}
    assert store.load("abc", NOW + timedelta(hours=8)) is None


def test_an_expired_session_is_deleted_when_read():
    collection = FakeSessionCollection()
    store = SessionStore(collection, timedelta(minutes=1))
    store.save("abc", {"a": 1}, NOW)

    store.load("abc", NOW + timedelta(minutes=2))

    assert collection.documents == {}


def test_the_database_never_holds_the_cookie_value():
    collection = FakeSessionCollection()
    SessionStore(collection, timedelta(hours=1)).save("the-cookie-value", {"a": 1}, NOW)

    assert "the-cookie-value" not in collection.documents
    assert all("the-cookie-value" not in str(doc) for doc in collection.documents.values())


def test_sweep_removes_only_expired_sessions():
    store = SessionStore(FakeSessionCollection(), timedelta(hours=1))
    store.save("old", {"a": 1}, NOW - timedelta(hours=2))
    store.save("new", {"a": 1}, NOW)

    assert store.sweep(NOW) == 1
    assert store.load("new", NOW) is not None


def test_the_session_cookie_is_an_opaque_httponly_samesite_id(client, sessions):
    with client.session_transaction() as session:
        session["after_sign_in"] = "/student"

    response = client.get("/verify")
    cookie = client.get_cookie("stint_session")

    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert "/student" not in cookie.value
    assert response.status_code == 200
    assert len(sessions.documents) == 1


def test_cookies_are_secure_and_host_only_when_configured(app, sessions):
    from services.web.app import create_app

    secure_app = create_app(
        dict(
            environ={},
            env="test",
            session_secret="s",
            client_secret="c",
            secure_cookies=True,
            web_url="https://stint.example",
        ),
        session_collection=sessions,
    )
    client = secure_app.test_client()
    with client.session_transaction() as session:
        session["x"] = 1

    cookie = client.get_cookie("__Host-stint_session")

    assert cookie is not None and cookie.secure and cookie.http_only


class BrokenCollection(FakeSessionCollection):
    """A session database that does not answer."""

    def find_one(self, query):
        raise ServerSelectionTimeoutError("down")

    def replace_one(self, query, document, upsert=False):
        raise ServerSelectionTimeoutError("down")


def test_public_pages_still_show_when_the_session_database_is_down():
    from services.web.app import create_app

    app = create_app(
        dict(environ={}, env="test", session_secret="s", client_secret="c"), session_collection=BrokenCollection()
    )
    client = app.test_client()
    client.set_cookie("stint_session", "an-old-session")

    page = client.get("/verify")

    assert page.status_code == 200 and b"Verify a Stint credential" in page.data
