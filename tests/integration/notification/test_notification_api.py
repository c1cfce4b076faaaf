"""The HTTP API: nobody reads another's inbox, webhooks or deliveries; bad input is a 4xx in the error shape."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from bson import json_util
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.notification import handlers, store
from services.notification.app import create_app
from shared import owner_index
from shared.events import read_event
from shared.pagination import encode_cursor
from tests.conftest import auth_header
from tests.unit.notification.notification_samples import ORG_ID, sample_event

OTHER_ORG = "org-zeta"
SECRET = "whsec-0123456789-abcdef"


@pytest.fixture
def seeded(api, token):
    """Acme has a webhook with one delivery; stu-1 and Acme each have an inbox entry."""
    client, db = api
    acme = token("employer", sub="emp-1", org=ORG_ID)
    hook = client.post(
        "/webhooks",
        headers=auth_header(acme),
        json={"url": "http://127.0.0.1:9/h", "secret": SECRET, "event_types": ["*"]},
    ).get_json()
    handlers.fan_out(db, read_event(sample_event("stint.application.shortlisted.v1")))
    handlers.fan_out(db, read_event(sample_event("stint.application.submitted.v1")))
    student_entry = db.inbox.find_one({"recipient": "user:stu-1"})["_id"]
    org_entry = db.inbox.find_one({"recipient": f"org:{ORG_ID}"})["_id"]
    return {"client": client, "hook": hook["id"], "student_entry": student_entry, "org_entry": org_entry}


def call(seeded, method, path, bearer=None, **kwargs):
    headers = auth_header(bearer) if bearer else {}
    path = path.format(**seeded)
    return seeded["client"].open(path, method=method, headers=headers, **kwargs)


OUTSIDERS = [
    ("another student", "student", "stu-2", None),
    ("an employer of another organisation", "employer", "emp-9", OTHER_ORG),
    ("a university", "university", "uni-1", OTHER_ORG),
    ("an admin", "admin", "adm-1", None),
]


@pytest.mark.parametrize(("who", "role", "sub", "org"), OUTSIDERS, ids=[o[0] for o in OUTSIDERS])
def test_nobody_sees_or_marks_read_another_users_or_organisations_inbox(seeded, token, who, role, sub, org):
    bearer = token(role, sub=sub, org=org)
    assert call(seeded, "GET", "/notifications", bearer).get_json()["items"] == []
    for entry in ("{student_entry}", "{org_entry}"):
        response = call(seeded, "POST", f"/notifications/{entry}/read", bearer)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "notification_not_found"


def test_the_owner_and_their_organisation_read_their_own_entries(seeded, token):
    student, employer = token("student", sub="stu-1"), token("employer", sub="emp-2", org=ORG_ID)
    assert [e["id"] for e in call(seeded, "GET", "/notifications", student).get_json()["items"]] == [
        seeded["student_entry"]
    ]
    read = call(seeded, "POST", "/notifications/{org_entry}/read", employer)
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert call(seeded, "GET", "/notifications?unread=1", employer).get_json()["items"] == []
    assert call(seeded, "POST", "/notifications/{org_entry}/read", employer).get_json()["read_at"]


ORG_OUTSIDERS = [
    ("an employer of another organisation", "employer", OTHER_ORG, 404),
    ("a university of another organisation", "university", OTHER_ORG, 404),
    ("a student", "student", None, 403),
    ("an admin", "admin", None, 403),
]


@pytest.mark.parametrize(("who", "role", "org", "status"), ORG_OUTSIDERS, ids=[o[0] for o in ORG_OUTSIDERS])
def test_nobody_reads_or_deletes_another_organisations_webhooks_or_deliveries(seeded, token, who, role, org, status):
    bearer = token(role, sub="x-1", org=org)
    listed = call(seeded, "GET", "/webhooks", bearer)
    if status == 404:  # an organisation role sees its own (empty) list
        assert listed.status_code == 200 and listed.get_json()["items"] == []
    else:
        assert listed.status_code == 403 and listed.get_json()["error"]["code"] == "wrong_role"
    assert call(seeded, "GET", "/webhooks/{hook}/deliveries", bearer).status_code == status
    assert call(seeded, "DELETE", "/webhooks/{hook}", bearer).status_code == status
    owner = token("employer", sub="emp-1", org=ORG_ID)
    assert [h["id"] for h in call(seeded, "GET", "/webhooks", owner).get_json()["items"]] == [seeded["hook"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/notifications"),
        ("POST", "/notifications/{student_entry}/read"),
        ("GET", "/preferences"),
        ("PUT", "/preferences"),
        ("POST", "/webhooks"),
        ("GET", "/webhooks"),
        ("DELETE", "/webhooks/{hook}"),
        ("GET", "/webhooks/{hook}/deliveries"),
    ],
)
def test_every_endpoint_needs_a_valid_token(seeded, method, path):
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
        response = seeded["client"].open(path.format(**seeded), method=method, headers=headers)
        assert response.status_code == 401 and response.get_json()["error"]["code"] in (
            "token_missing",
            "invalid_token",
        )


def test_preferences_start_all_on_and_belong_to_their_user(seeded, token):
    asha, ben = token("student", sub="stu-1"), token("student", sub="stu-2")
    assert call(seeded, "GET", "/preferences", asha).get_json() == {
        "in_app": True,
        "email": True,
        "webhook": True,
        "updated_at": None,
    }
    call(seeded, "PUT", "/preferences", asha, json={"in_app": True, "email": False, "webhook": False})
    assert call(seeded, "GET", "/preferences", asha).get_json()["email"] is False
    assert call(seeded, "GET", "/preferences", ben).get_json()["email"] is True


def test_the_inbox_pages_with_a_cursor(api, token):
    client, db = api
    for n in range(5):
        handlers.fan_out(db, read_event(sample_event("stint.application.accepted.v1", application_id=f"app-{n}")))
    bearer, seen, cursor = token("student", sub="stu-1"), [], None
    while True:
        page = client.get(f"/notifications?limit=2{'&cursor=' + cursor if cursor else ''}", headers=auth_header(bearer))
        seen += [item["id"] for item in page.get_json()["items"]]
        cursor = page.get_json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


def _smuggled_cursor() -> str:
    return base64.urlsafe_b64encode(json_util.dumps([{"$gt": ""}, {"$ne": None}]).encode()).decode()


LONG = "x" * 201
BAD_REQUESTS = [
    ("webhook without url", "POST", "/webhooks", {"secret": SECRET, "event_types": ["*"]}, 422),
    (
        "webhook with unknown field",
        "POST",
        "/webhooks",
        {"url": "http://a.example/h", "secret": SECRET, "event_types": ["*"], "admin": True},
        422,
    ),
    ("ftp webhook url", "POST", "/webhooks", {"url": "ftp://a.example/h", "secret": SECRET, "event_types": ["*"]}, 422),
    (
        "javascript url",
        "POST",
        "/webhooks",
        {"url": "javascript:alert(1)", "secret": SECRET, "event_types": ["*"]},
        422,
    ),
    ("short secret", "POST", "/webhooks", {"url": "http://a.example/h", "secret": "short", "event_types": ["*"]}, 422),
    ("long secret", "POST", "/webhooks", {"url": "http://a.example/h", "secret": LONG, "event_types": ["*"]}, 422),
    (
        "unknown event type",
        "POST",
        "/webhooks",
        {"url": "http://a.example/h", "secret": SECRET, "event_types": ["stint.nope.v1"]},
        422,
    ),
    ("no event types", "POST", "/webhooks", {"url": "http://a.example/h", "secret": SECRET, "event_types": []}, 422),
    (
        "event types not a list",
        "POST",
        "/webhooks",
        {"url": "http://a.example/h", "secret": SECRET, "event_types": "*"},
        422,
    ),
    (
        "oversized url",
        "POST",
        "/webhooks",
        {"url": "http://a.example/" + "p" * 2100, "secret": SECRET, "event_types": ["*"]},
        422,
    ),
    (
        "oversized body",
        "POST",
        "/webhooks",
        {"url": "http://a.example/h", "secret": SECRET, "event_types": ["*"] * 10, "pad": "x" * (1024 * 1024 + 10)},
        413,
    ),
    ("body that is not an object", "POST", "/webhooks", ["http://a.example/h"], 422),
    ("preferences missing a channel", "PUT", "/preferences", {"in_app": True, "email": False}, 422),
    ("preferences not boolean", "PUT", "/preferences", {"in_app": "often", "email": False, "webhook": True}, 422),
    (
        "preferences unknown field",
        "PUT",
        "/preferences",
        {"in_app": True, "email": True, "webhook": True, "sms": 1},
        422,
    ),
    ("garbage cursor", "GET", "/notifications?cursor=%%%not-base64", None, 400),
    ("smuggled operator cursor", "GET", f"/notifications?cursor={_smuggled_cursor()}", None, 400),
    ("cursor of the wrong shape", "GET", f"/notifications?cursor={encode_cursor(['x', 1])}", None, 400),
    ("limit zero", "GET", "/notifications?limit=0", None, 422),
    ("limit too large", "GET", "/notifications?limit=1000", None, 422),
    ("unread not boolean", "GET", "/notifications?unread=maybe", None, 422),
    ("unknown query argument", "GET", "/notifications?owner=org:org-acme", None, 422),
    ("bad notification id", "POST", "/notifications/not-a-uuid/read", None, 404),
    ("unknown notification id", "POST", f"/notifications/{uuid.uuid4()}/read", None, 404),
    ("bad webhook id", "DELETE", "/webhooks/1234", None, 404),
    ("unknown webhook id", "DELETE", f"/webhooks/{uuid.uuid4()}", None, 404),
    ("bad webhook id for deliveries", "GET", "/webhooks/zzz/deliveries", None, 404),
    ("bad cursor for deliveries", "GET", "/webhooks/{hook}/deliveries?cursor=abc", None, 400),
    ("unsupported method", "PATCH", "/preferences", None, 405),
]


@pytest.mark.parametrize(("case", "method", "path", "body", "status"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_input_is_refused_in_the_error_shape(seeded, token, case, method, path, body, status):
    bearer = token("employer", sub="emp-1", org=ORG_ID)
    response = call(seeded, method, path, bearer, json=body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]


def test_production_refuses_webhooks_into_private_networks(settings_for, redis):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    issuer = "https://id.stint.test/realms/stint"
    settings = settings_for(
        "notification",
        env="production",
        public_url="https://verify.stint.test",
        auth_public_key=public_pem,
        auth_issuer=issuer,
        auth_audience="stint-api",
        extra={"STINT_RATE_LIMIT_STORAGE": redis.url},
    )
    app = create_app(settings)
    client = app.test_client()
    claims = {"sub": "emp-1", "role": "employer", "org": ORG_ID, "iss": issuer, "aud": "stint-api"}
    bearer = auth_header(jwt.encode(claims | {"exp": int(time.time()) + 600}, key, algorithm="RS256"))
    for url in (
        "http://127.0.0.1:8080/h",
        "http://10.0.0.7/h",
        "http://169.254.169.254/latest",
        "http://[::1]/h",
        "http://localhost:9000/h",
        "http://2130706433/h",
    ):
        response = client.post("/webhooks", headers=bearer, json={"url": url, "secret": SECRET, "event_types": ["*"]})
        assert response.status_code == 422, url
        assert response.get_json()["error"]["code"] in ("webhook_url_not_allowed", "validation_failed"), url
    app.extensions["stint_db"].client.drop_database(settings.database_name)


def test_too_many_webhooks_is_a_conflict(api, token):
    client, _ = api
    bearer = auth_header(token("university", sub="uni-1", org="org-uni"))
    body = {"url": "http://127.0.0.1:9/h", "secret": SECRET, "event_types": ["stint.certificate.credit_decided.v1"]}
    statuses = [client.post("/webhooks", headers=bearer, json=body).status_code for _ in range(21)]
    assert statuses == [201] * 20 + [409]


def test_the_api_is_documented_and_reports_health(api):
    client, _ = api
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/notifications", "/notifications/{entry_id}/read", "/preferences", "/webhooks"} <= set(paths)
    assert {"/webhooks/{webhook_id}", "/webhooks/{webhook_id}/deliveries"} <= set(paths)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_inbox_entries_stored_before_the_recipients_indexes_existed_are_listed_after_a_restart(api, token):
    """A database from before the inbox indexes: its entries are entered once at start, then paged as before."""
    client, db = api
    for n in range(3):
        handlers.fan_out(db, read_event(sample_event("stint.application.accepted.v1", application_id=f"old-{n}")))
    db.drop_collection(store.INBOX_INDEX)  # as if stored by the version without indexes
    owner_index._complete.clear()
    bearer = auth_header(token("student", sub="stu-1"))
    assert len(client.get("/notifications", headers=bearer).get_json()["items"]) == 3  # the old query meanwhile
    store.ensure_indexes(db)
    assert db[store.INBOX_INDEX].find_one({"_id": owner_index.COMPLETE}) is not None
    index = store._inbox_index(db)
    assert len(db[store.INBOX_INDEX].find_one({"_id": "user:stu-1"})["entries"]) <= 3 + index._slack  # stays small
    items = client.get("/notifications", headers=bearer).get_json()["items"]
    assert [item["read"] for item in items] == [False, False, False]


def test_an_entry_marked_read_leaves_the_unread_page_and_stays_on_the_full_one(api, token):
    client, db = api
    for n in range(3):
        handlers.fan_out(db, read_event(sample_event("stint.application.accepted.v1", application_id=f"app-{n}")))
    bearer = auth_header(token("student", sub="stu-1"))
    unread = client.get("/notifications?unread=1", headers=bearer).get_json()["items"]
    assert client.post(f"/notifications/{unread[1]['id']}/read", headers=bearer).status_code == 200
    still_unread = client.get("/notifications?unread=1", headers=bearer).get_json()["items"]
    assert [item["id"] for item in still_unread] == [unread[0]["id"], unread[2]["id"]]
    every = client.get("/notifications", headers=bearer).get_json()["items"]
    assert [item["read"] for item in every] == [False, True, False]


def test_an_application_event_read_late_does_not_undo_a_newer_one(api):
    _, db = api
    student, now = {"id": "stu-1", "name": "Asha", "email": "asha@example.test"}, datetime.now(UTC)
    store.remember_application(db, "app-1", "lst-1", student, "accepted", now)
    store.remember_application(db, "app-1", "lst-1", student, "applied", now - timedelta(seconds=5))  # older, late
    assert db[store.APPLICATIONS].find_one({"_id": "app-1"})["status"] == "accepted"
    store.remember_application(db, "app-1", "lst-1", student, "withdrawn", now + timedelta(seconds=5))
    assert db[store.APPLICATIONS].find_one({"_id": "app-1"})["status"] == "withdrawn"


def test_an_inbox_lists_its_newest_entries_up_to_the_limit_and_lets_the_oldest_go(api, token, monkeypatch):
    client, db = api
    monkeypatch.setattr(store, "INBOX_LISTED", 3)
    for n in range(5):
        handlers.fan_out(db, read_event(sample_event("stint.application.accepted.v1", application_id=f"app-{n}")))
    listed = client.get("/notifications", headers=auth_header(token("student", sub="stu-1"))).get_json()["items"]
    stored = db[store.INBOX].find({"recipient": "user:stu-1"})
    newest = sorted(stored, key=lambda entry: (entry["created_at"], entry["_id"]), reverse=True)  # the list's order
    assert [item["id"] for item in listed] == [entry["_id"] for entry in newest[:3]]
    assert db[store.INBOX].count_documents({"recipient": "user:stu-1"}) == 5  # the older two are still stored
    index = store._inbox_index(db)
    assert len(db[store.INBOX_INDEX].find_one({"_id": "user:stu-1"})["entries"]) <= 3 + index._slack  # stays small
