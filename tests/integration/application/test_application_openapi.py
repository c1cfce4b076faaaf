"""/openapi.json documents every endpoint with its request and response schemas and its errors."""

from __future__ import annotations

import pytest

ENDPOINTS = {
    ("post", "/applications"): ("ApplyRequest", "201", {"401", "403", "409", "422"}),
    ("get", "/applications"): (None, "200", {"400", "401", "403", "422"}),
    ("get", "/applications/{application_id}"): (None, "200", {"401", "403", "404"}),
    ("post", "/applications/{application_id}/shortlist"): ("ActionRequest", "200", {"401", "403", "404", "409"}),
    ("post", "/applications/{application_id}/accept"): ("ActionRequest", "200", {"401", "403", "404", "409"}),
    ("post", "/applications/{application_id}/reject"): ("ActionRequest", "200", {"401", "403", "404", "409"}),
    ("post", "/applications/{application_id}/withdraw"): ("ActionRequest", "200", {"401", "403", "404", "409"}),
    ("post", "/applications/{application_id}/submissions"): (
        "SubmissionRequest",
        "201",
        {"401", "403", "404", "409", "422"},
    ),
    ("post", "/applications/{application_id}/review"): ("ReviewRequest", "200", {"401", "403", "404", "409", "422"}),
}


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS.keys(), ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_endpoint_is_documented_with_schemas_and_errors(spec, method, path):
    request_schema, success, errors = ENDPOINTS[(method, path)]
    operation = spec["paths"][path][method]

    assert operation["summary"]
    if request_schema:
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body == f"#/components/schemas/{request_schema}"
    success_schema = operation["responses"][success]["content"]["application/json"]["schema"]["$ref"]
    assert success_schema in ("#/components/schemas/Application", "#/components/schemas/ApplicationPage")
    for status in errors:
        error_schema = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert error_schema == "#/components/schemas/Error"


def test_the_list_documents_its_filters_and_paging(spec):
    parameters = {p["name"] for p in spec["paths"]["/applications"]["get"]["parameters"]}

    assert parameters == {"listing_id", "status", "limit", "cursor"}


def test_the_schemas_bound_what_clients_send(spec):
    schemas = spec["components"]["schemas"]

    assert schemas["ApplyRequest"]["properties"]["cover_note"]["maxLength"] == 5000
    assert schemas["ApplyRequest"]["properties"]["answers"]["maxItems"] == 20
    assert schemas["SubmissionRequest"]["properties"]["links"]["maxItems"] == 10
    assert schemas["ReviewRequest"]["properties"]["rating"]["maximum"] == 5
    assert schemas["Application"]["properties"]["status"]["enum"][0] == "applied"
    assert schemas["Error"]["properties"]["error"]["$ref"] == "#/components/schemas/ErrorBody"


def test_the_docs_page_and_health_answer(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
