"""Who may do what: every endpoint for every kind of caller, every refusal in the one error shape.

An employer of another organisation gets 404 for this organisation's listings (drafts stay secret,
and the answer is the same whether or not the listing exists); a role that may never act gets 403.
"""

from __future__ import annotations

import pytest

from tests.support.samples import listing_body

from .conftest import OWN_ORG

ROLES = ("nobody", "student", "employer", "other_employer", "university", "admin")
ORG_BODY = {"name": "Some Org", "website": "https://org.example", "registration_id": "U1234"}

# endpoint: (method, path, body) and the expected status for each role, in the order of ROLES.
TABLE = {
    "register org": (("PUT", "/orgs/me", ORG_BODY), (401, 403, 200, 200, 403, 403)),
    "read org": (("GET", f"/orgs/{OWN_ORG}", None), (200, 200, 200, 200, 200, 200)),
    "verify org": (("POST", f"/orgs/{OWN_ORG}/verify", None), (401, 403, 403, 403, 403, 200)),
    "create listing": (("POST", "/listings", "listing"), (401, 403, 201, 201, 403, 403)),
    "search listings": (("GET", "/listings", None), (200, 200, 200, 200, 200, 200)),
    "list my listings": (("GET", "/listings?mine=1", None), (401, 403, 200, 200, 403, 403)),
    "read a draft": (("GET", "/listings/{draft}", None), (404, 404, 200, 404, 404, 404)),
    "read a published listing": (("GET", "/listings/{published}", None), (200, 200, 200, 200, 200, 200)),
    "edit a draft": (("PATCH", "/listings/{draft}", {"seats": 4}), (401, 403, 200, 404, 403, 403)),
    "edit a published listing": (("PATCH", "/listings/{published}", {"seats": 4}), (401, 403, 200, 404, 403, 403)),
    "publish a draft": (("POST", "/listings/{draft}/publish", None), (401, 403, 200, 404, 403, 403)),
    "close a listing": (("POST", "/listings/{published}/close", None), (401, 403, 200, 404, 403, 403)),
}
CASES = [
    pytest.param(endpoint, role, expected[i], id=f"{endpoint} as {role}")
    for endpoint, (_, expected) in TABLE.items()
    for i, role in enumerate(ROLES)
]


@pytest.fixture
def world(platform):
    """Two registered organisations; ours is verified and has a draft and a published listing."""
    platform.register()
    platform.register(who="other_employer", name="Globex")
    platform.verify()
    return {"draft": platform.create()["id"], "published": platform.published_listing()["id"]}


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES)
def test_each_caller_gets_the_answer_their_role_and_organisation_allow(
    client, callers, world, endpoint, role, expected
):
    (method, path, body), _ = TABLE[endpoint]
    json_body = listing_body() if body == "listing" else body
    response = client.open(path.format(**world), method=method, json=json_body, headers=callers[role])
    assert response.status_code == expected, response.get_json()
    if expected >= 400:
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert error["code"] and error["message"]
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_signed_with_another_secret_is_refused(client):
    from shared.auth import mint_token

    forged = mint_token("not-the-secret-" + "x" * 32, "emp-9", "employer", org=OWN_ORG)
    response = client.put("/orgs/me", json=ORG_BODY, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_an_employer_cannot_write_listings_before_registering(client, callers):
    response = client.post("/listings", json=listing_body(), headers=callers["employer"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "org_not_registered"
