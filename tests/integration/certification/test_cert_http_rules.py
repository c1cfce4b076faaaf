"""Who may call what (endpoint × role), and bad input answered with 4xx in the error shape, never 500."""

from __future__ import annotations

import pytest

ROLES = ("anonymous", "student", "employer", "university", "admin")
MISSING = "00000000-0000-4000-8000-000000000000"

# (method, path template, body, roles allowed); "public" means every caller, signed in or not.
TABLE = [
    ("GET", "/credentials?mine=1", None, {"student", "admin"}),
    ("GET", "/credentials/{id}", None, "public"),
    ("GET", "/credentials/{id}/pdf", None, "public"),
    ("POST", "/credentials/{id}/revoke", {"reason": "table test"}, {"admin"}),
    ("POST", "/credentials/{id}/credit-decisions", {"decision": "rejected"}, {"university"}),
    ("POST", "/verify", {"not": "a credential"}, "public"),
    ("POST", "/credentials/verify", {"verifiableCredential": {"not": "a credential"}}, "public"),
    ("POST", "/verify/batch", {"items": [{"id": "urn:uuid:" + MISSING}]}, {"university"}),
    ("GET", "/verify/{id}", None, "public"),
    ("GET", "/.well-known/did.json", None, "public"),
    ("POST", "/keys/rotate", None, {"admin"}),
    ("GET", "/status-lists/{list}", None, "public"),
    ("GET", "/contexts/stint-v1.json", None, "public"),
    ("GET", "/skills/python", None, "public"),
    ("PUT", "/universities/me/policy", {"hours_per_credit": 30}, {"university"}),
    ("GET", "/universities/me/policy", None, {"university"}),
    ("GET", "/credit-decisions", None, {"university"}),
    ("GET", "/credit-decisions/export", None, {"university"}),
    (
        "PUT",
        "/universities/me",
        {"name": "IIT", "aishe_code": "U-0001", "website": "https://iit.ac.in"},
        {"university"},
    ),
    ("GET", "/universities", None, "public"),
    ("GET", "/credit-requests", None, {"student", "university"}),
]


@pytest.fixture
def headers_for(as_role):
    def build(role: str) -> dict:
        return {} if role == "anonymous" else as_role(role)

    return build


@pytest.mark.parametrize(("method", "template", "body", "allowed"), TABLE, ids=[f"{m} {t}" for m, t, _, _ in TABLE])
def test_each_endpoint_admits_only_its_roles(client, issue, headers_for, ask_credit, method, template, body, allowed):
    record = issue()
    if "credit-decisions" in template:
        ask_credit(record)  # a decision answers a student's request
    path = template.format(id=record["_id"], list=record["status_list_id"])
    # Callers that must be refused go first, so an allowed action (revoke) cannot change what they see.
    for role in sorted(ROLES, key=lambda r: allowed == "public" or r in allowed):
        response = client.open(path, method=method, json=body, headers=headers_for(role))
        permitted = allowed == "public" or role in allowed
        if permitted:
            assert response.status_code < 400, (role, response.status_code, response.get_data(as_text=True)[:300])
        elif role == "anonymous":
            assert response.status_code == 401, (role, response.status_code)
            assert response.get_json()["error"]["code"] == "token_missing"
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert response.get_json()["error"]["code"] == "wrong_role"


BAD_REQUESTS = [
    ("POST", "/verify", {"data": b"this is not json", "content_type": "application/json"}, 400),
    ("POST", "/verify", {"data": b"[1, 2, 3]", "content_type": "application/json"}, 400),
    ("POST", "/verify", {"data": b'"a string"', "content_type": "application/json"}, 400),
    ("POST", "/verify", {"data": b"x" * (1024 * 1024 + 10), "content_type": "application/json"}, 413),
    ("POST", "/verify/batch", {"json": {"items": [{"id": "x"}] * 501}}, 422),
    ("POST", "/verify/batch", {"json": {"items": []}}, 422),
    ("POST", "/verify/batch", {"json": {"items": [{"id": "x", "credential": {}}]}}, 422),
    ("POST", "/verify/batch", {"json": {"items": [{}]}}, 422),
    ("POST", "/verify/batch", {"json": {"items": [{"id": "x"}], "extra": 1}}, 422),
    ("POST", "/verify/batch", {"data": b"{", "content_type": "application/json"}, 400),
    ("POST", "/credentials/verify", {"data": b"{", "content_type": "application/json"}, 400),
    ("POST", "/credentials/verify", {"data": b"x" * (1024 * 1024 + 10), "content_type": "application/json"}, 413),
    ("POST", "/credentials/verify", {"json": {"verifiableCredential": [1]}}, 422),
    ("POST", "/credentials/verify", {"json": {"verifiableCredential": {}, "options": "all"}}, 422),
    ("GET", "/skills/no-such-skill", {}, 404),
    ("GET", "/skills/" + "x" * 300, {}, 404),
    ("POST", "/credentials/{id}/revoke", {"json": {}}, 422),
    ("POST", "/credentials/{id}/revoke", {"json": {"reason": "ok reason", "also": "x"}}, 422),
    ("POST", "/credentials/not-a-uuid/revoke", {"json": {"reason": "fraud"}}, 404),
    ("POST", f"/credentials/{MISSING}/revoke", {"json": {"reason": "fraud"}}, 404),
    ("GET", "/credentials/not-a-uuid", {}, 404),
    ("GET", f"/credentials/{MISSING}", {}, 404),
    ("GET", f"/credentials/{MISSING}/pdf", {}, 404),
    ("GET", "/credentials/%00%ff/pdf", {}, 404),
    ("GET", "/status-lists/nope", {}, 404),
    ("GET", "/status-lists/..%2F..%2Fetc", {}, 404),
    ("GET", "/credentials?limit=0", {}, 422),
    ("GET", "/credentials?cursor=%%%%", {}, 400),
    ("PUT", "/universities/me/policy", {"json": {"hours_per_credit": 0}}, 422),
    ("PUT", "/universities/me/policy", {"json": {"min_hours": -1}}, 422),
    ("PUT", "/universities/me/policy", {"json": {"hours_per_credit": 30, "bonus": 1}}, 422),
    ("POST", "/credentials/{id}/credit-decisions", {"json": {"decision": "maybe"}}, 422),
    ("POST", "/credentials/{id}/credit-decisions", {"json": {"decision": "accepted", "credits_awarded": -1}}, 422),
    ("POST", "/credentials/{id}/credit-decisions", {"json": {"decision": "rejected", "credits_awarded": 1}}, 422),
    ("POST", "/credentials/{id}/credit-decisions", {"json": {"decision": "rejected", "note": "n" * 1001}}, 422),
    ("POST", f"/credentials/{MISSING}/credit-decisions", {"json": {"decision": "rejected"}}, 404),
    ("DELETE", "/credentials/{id}", {}, 405),
    ("POST", "/keys/key-1/revoke", {"json": {}}, 409),  # the current key: rotate first
    ("POST", "/keys/key-1/revoke", {"json": {"reason": 5}}, 422),
    ("POST", "/keys/key-1/revoke", {"json": {"reason": "leaked", "also": "x"}}, 422),
    ("POST", "/keys/key-1/revoke", {"json": {"reason": "r" * 501}}, 422),
    ("POST", "/keys/key-99/revoke", {"json": {}}, 404),
    ("POST", "/keys/" + "k" * 300 + "/revoke", {"json": {}}, 404),
    ("GET", "/universities?status=all", {}, 422),
    ("GET", "/universities?cursor=%%%%", {}, 400),
    ("GET", "/universities/nowhere", {}, 404),
    ("PUT", "/universities/me", {"json": {"name": "IIT", "aishe_code": "U-1", "website": "x"}}, 422),
    ("PUT", "/universities/me", {"data": b"{", "content_type": "application/json"}, 400),
    ("POST", "/credit-requests", {"json": {"credential_id": "x", "university_id": "y", "apaar_id": "1"}}, 422),
    ("POST", "/credit-requests", {"json": {"credential_id": "not-a-uuid", "university_id": "y"}}, 404),
    ("POST", "/credit-requests", {"json": {"credential_id": MISSING, "university_id": "y"}}, 404),
    ("GET", "/credit-requests?status=closed", {}, 422),
]


@pytest.mark.parametrize(("method", "template", "kwargs", "status"), BAD_REQUESTS)
def test_bad_input_is_refused_in_the_error_shape(client, issue, as_role, ask_credit, method, template, kwargs, status):
    record = issue()
    role = "university" if "universit" in template or "credit" in template or "batch" in template else "admin"
    if template.startswith("/credentials?") or template.startswith("/credit-requests"):
        role = "student"
    if "credit-decisions" in template and MISSING not in template:
        ask_credit(record)  # so the domain's own checks are reached
    response = client.open(template.format(id=record["_id"]), method=method, headers=as_role(role), **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] and error["message"]


def test_a_json_object_that_is_not_a_credential_is_answered_not_verified(client):
    response = client.post("/verify", json={"hello": "world"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["verified"] is False
    assert {c["name"]: c["passed"] for c in body["checks"]}["well_formed"] is False


def test_openapi_documents_the_service(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/verify", "/verify/batch", "/credentials/{credential_id}/revoke", "/.well-known/did.json"):
        assert path in spec["paths"], path


HOSTILE = [
    {"@context": ["https://www.w3.org/ns/credentials/v2", {"@vocab": "https://evil.example/#"}]},
    {"@context": ["https://www.w3.org/ns/credentials/v2", "https://evil.example/context.json"], "type": []},
    {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential", "OpenBadgeCredential"]},
    {"@context": {"@vocab": "https://evil.example/#"}, "type": "VerifiableCredential"},
    {"proof": [1, 2], "issuer": 5, "credentialStatus": "x", "validFrom": 7},
    {"credentialSubject": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {}}}}}}}}},
]


def _deep(levels: int) -> dict:
    node: dict = {"x": 1}
    for _ in range(levels):
        node = {"credentialSubject": node}
    return node


@pytest.mark.parametrize("document", [*HOSTILE, _deep(600)], ids=[*map(str, range(len(HOSTILE))), "deep"])
def test_hostile_documents_are_answered_not_verified(client, issue, document):
    record = issue()
    genuine = client.get(f"/credentials/{record['_id']}").get_json()
    for candidate in (document, {**genuine, **document}):
        response = client.post("/verify", json=candidate)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.get_json()["verified"] is False


def test_absurdly_deep_json_is_a_400_not_a_crash(client):
    response = client.post("/verify", data=b'{"a":' * 200_000 + b"1" + b"}" * 200_000, content_type="application/json")
    assert response.status_code in (400, 413)
