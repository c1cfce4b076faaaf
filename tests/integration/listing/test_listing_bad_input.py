"""Bad input to every endpoint is refused with a 4xx in the one error shape, and nothing changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.listing import store
from tests.support.samples import listing_body

LONG = "x" * 20_000
PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
ORG_BODY = {"name": "Acme Labs", "website": "https://acme.example", "registration_id": "U1234"}
UNKNOWN_ID = str(uuid.uuid4())
NOT_UNICODE_ORG = b'{"name": "Ac\\ud800me", "website": "https://a.example", "registration_id": "U1"}'

# (who, method, path, body or raw bytes, expected status); {draft}/{published}/{closed} are filled in.
CASES = {
    "org without name": ("employer", "PUT", "/orgs/me", {**ORG_BODY, "name": None}, 422),
    "org missing website": ("employer", "PUT", "/orgs/me", {"name": "Acme", "registration_id": "U1"}, 422),
    "org javascript website": ("employer", "PUT", "/orgs/me", {**ORG_BODY, "website": "javascript:alert(1)"}, 422),
    "org ftp website": ("employer", "PUT", "/orgs/me", {**ORG_BODY, "website": "ftp://acme.example"}, 422),
    "org oversized name": ("employer", "PUT", "/orgs/me", {**ORG_BODY, "name": LONG}, 422),
    "org name not a string": ("employer", "PUT", "/orgs/me", {**ORG_BODY, "name": 42}, 422),
    "org unknown field": ("employer", "PUT", "/orgs/me", {**ORG_BODY, "status": "verified"}, 422),
    "org body not an object": ("employer", "PUT", "/orgs/me", [ORG_BODY], 422),
    "org name not unicode": ("employer", "PUT", "/orgs/me", NOT_UNICODE_ORG, 422),
    "org body not json": ("employer", "PUT", "/orgs/me", b"{name: Acme", 400),
    "verify unknown org": ("admin", "POST", "/orgs/nobody-here/verify", None, 404),
    "verify oversized org id": ("admin", "POST", f"/orgs/{'o' * 300}/verify", None, 404),
    "read unknown org": ("nobody", "GET", "/orgs/nobody-here", None, 404),
    "listing missing title": ("employer", "POST", "/listings", listing_body(title=None), 422),
    "listing empty body": ("employer", "POST", "/listings", {}, 422),
    "listing title too long": ("employer", "POST", "/listings", listing_body(title=LONG), 422),
    "listing brief too long": ("employer", "POST", "/listings", listing_body(brief=LONG), 422),
    "listing too many skills": ("employer", "POST", "/listings", listing_body(skills=["go"] * 21), 422),
    "listing too many questions": ("employer", "POST", "/listings", listing_body(screening_questions=["q"] * 6), 422),
    "listing days as text": ("employer", "POST", "/listings", listing_body(duration_days="ten"), 422),
    "listing 29 days": ("employer", "POST", "/listings", listing_body(duration_days=29), 422),
    "listing no seats": ("employer", "POST", "/listings", listing_body(seats=0), 422),
    "listing negative stipend": ("employer", "POST", "/listings", listing_body(stipend={"amount": "-1"}), 422),
    "listing bad currency": (
        "employer",
        "POST",
        "/listings",
        listing_body(stipend={"amount": "1", "currency": "$"}),
        422,
    ),
    "listing naive deadline": ("employer", "POST", "/listings", listing_body(apply_by="2030-01-01T00:00:00"), 422),
    "listing past deadline": ("employer", "POST", "/listings", listing_body(apply_by=PAST), 422),
    "listing unknown field": ("employer", "POST", "/listings", listing_body(status="published"), 422),
    "listing effort beyond duration": (
        "employer",
        "POST",
        "/listings",
        listing_body(duration_days=1, effort_hours=40),
        422,
    ),
    "edit bad id": ("employer", "PATCH", "/listings/not-a-uuid", {"seats": 3}, 404),
    "edit unknown id": ("employer", "PATCH", f"/listings/{UNKNOWN_ID}", {"seats": 3}, 404),
    "edit unknown field": ("employer", "PATCH", "/listings/{draft}", {"seats_filled": 3}, 422),
    "edit oversized title": ("employer", "PATCH", "/listings/{draft}", {"title": LONG}, 422),
    "edit title not unicode": ("employer", "PATCH", "/listings/{draft}", b'{"title": "Bad \\udfff title"}', 422),
    "edit seats as text": ("employer", "PATCH", "/listings/{draft}", {"seats": "3"}, 422),
    "edit past deadline": ("employer", "PATCH", "/listings/{published}", {"apply_by": PAST}, 422),
    "edit closed listing": ("employer", "PATCH", "/listings/{closed}", {"seats": 3}, 409),
    "publish bad id": ("employer", "POST", "/listings/123/publish", None, 404),
    "publish unknown id": ("employer", "POST", f"/listings/{UNKNOWN_ID}/publish", None, 404),
    "publish closed listing": ("employer", "POST", "/listings/{closed}/publish", None, 409),
    "close bad id": ("employer", "POST", "/listings/../close", None, 404),
    "close a draft": ("employer", "POST", "/listings/{draft}/close", None, 409),
    "read bad id": ("nobody", "GET", "/listings/zzz", None, 404),
    "search bad cursor": ("nobody", "GET", "/listings?cursor=not-a-cursor", None, 400),
    "search forged cursor": ("nobody", "GET", "/listings?cursor=W3siJGd0IjogMX0sICJ4Il0", None, 400),
    "search limit zero": ("nobody", "GET", "/listings?limit=0", None, 422),
    "search limit huge": ("nobody", "GET", "/listings?limit=1000", None, 422),
    "search days as text": ("nobody", "GET", "/listings?max_days=abc", None, 422),
    "search too many words": ("nobody", "GET", "/listings?q=" + "+".join(f"w{i}" for i in range(11)), None, 422),
    "unknown path": ("nobody", "GET", "/listings/x/y/z", None, 404),
    "wrong method": ("employer", "DELETE", "/listings/{draft}", None, 405),
}


@pytest.fixture
def world(platform, client, callers):
    """A verified organisation with a draft, a published and a closed listing."""
    platform.register()
    platform.verify()
    closed = platform.published_listing()["id"]
    assert client.post(f"/listings/{closed}/close", headers=callers["employer"]).status_code == 200
    return {"draft": platform.create()["id"], "published": platform.published_listing()["id"], "closed": closed}


def everything(db) -> list[list[dict]]:
    """Every stored organisation and listing, to show that a refused request changed nothing."""
    return [list(collection.find().sort("_id")) for collection in store.outbox_collections(db)]


@pytest.mark.parametrize(("who", "method", "path", "body", "expected"), CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_and_changes_nothing(client, callers, db, world, who, method, path, body, expected):
    before = everything(db)
    payload = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) else {"json": body}
    response = client.open(path.format(**world), method=method, headers=callers[who], **payload)
    assert response.status_code == expected, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert everything(db) == before


def test_field_errors_name_the_fields(client, callers, world):
    response = client.post("/listings", json=listing_body(title="", seats=0, extra=1), headers=callers["employer"])
    details = response.get_json()["error"]["details"]
    assert {"title", "seats", "extra"} <= set(details)
