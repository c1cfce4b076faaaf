"""The OpenAPI document describes every endpoint, its schemas and its errors; the docs page serves."""

from __future__ import annotations

import pytest

ENDPOINTS = {
    ("put", "/orgs/me"): {"request": "OrgProfile", "success": "200", "errors": {"401", "403", "422"}},
    ("get", "/orgs/{org_id}"): {"success": "200", "errors": {"404"}, "public": True},
    ("post", "/orgs/{org_id}/verify"): {"success": "200", "errors": {"401", "403", "404"}},
    ("post", "/listings"): {"request": "ListingCreate", "success": "201", "errors": {"401", "403", "409", "422"}},
    ("get", "/listings"): {"success": "200", "errors": {"400", "422"}, "public": True},
    ("get", "/listings/{listing_id}"): {"success": "200", "errors": {"404"}, "public": True},
    ("patch", "/listings/{listing_id}"): {
        "request": "ListingPatch",
        "success": "200",
        "errors": {"401", "403", "404", "409", "422"},
    },
    ("post", "/listings/{listing_id}/publish"): {"success": "200", "errors": {"401", "403", "404", "409", "422"}},
    ("post", "/listings/{listing_id}/close"): {"success": "200", "errors": {"401", "403", "404", "409"}},
}


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def resolve(spec: dict, item: dict) -> dict:
    """Follow a `$ref` to a shared component (flask-smorest shares its 422 and default responses)."""
    if "$ref" not in item:
        return item
    _, section, kind, name = item["$ref"].split("/")
    return spec[section][kind][name]


def schema_name(spec: dict, item: dict) -> str:
    return resolve(spec, item)["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


@pytest.mark.parametrize(("method", "path"), list(ENDPOINTS), ids=[f"{m.upper()} {p}" for m, p in ENDPOINTS])
def test_every_endpoint_is_documented_with_its_schemas_and_errors(spec, method, path):
    expected = ENDPOINTS[(method, path)]
    operation = spec["paths"][path][method]
    assert operation.get("summary") or operation.get("description")
    responses = operation["responses"]
    assert expected["success"] in responses
    assert "content" in responses[expected["success"]]
    if "request" in expected:
        assert schema_name(spec, operation["requestBody"]) == expected["request"]
    for status in expected["errors"]:
        assert schema_name(spec, responses[status]) == "Error", f"{status} of {method.upper()} {path}"
    if expected.get("public"):
        assert {} in operation["security"]


def test_the_listing_schema_shows_seats_left_and_hides_bookkeeping(spec):
    properties = spec["components"]["schemas"]["Listing"]["properties"]
    assert {"id", "seats_left", "stipend", "apply_by", "status", "version", "open_for_applications"} <= set(properties)
    assert not {"search_terms", "accepted_applications", "outbox"} & set(properties)


def test_every_listing_path_is_in_the_document(spec):
    documented = {(method, path) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert set(ENDPOINTS) <= documented


def test_the_interactive_docs_are_served(client):
    assert client.get("/docs").status_code == 200
