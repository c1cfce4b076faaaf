"""Work domains, the stipend floor, unpaid listings and typed dates, on the real servers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from services.listing import handlers, store
from services.listing.app import create_app
from services.listing.worker import prepare
from shared.config import ConfigError
from tests.support.apps import service_app
from tests.support.samples import listing_body

from .conftest import Platform


def test_anyone_reads_the_work_domains_with_their_labels(client):
    response = client.get("/categories")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["code"] for item in items] == ["content", "data", "design", "social", "testing", "business", "other"]
    assert {"code": "data", "label": "Data entry and research"} in items


def test_a_listing_in_an_unknown_domain_is_refused_naming_the_choices(client, callers, db, verified_org):
    response = client.post("/listings", json=listing_body(category="Engineering"), headers=callers["employer"])
    assert response.status_code == 422
    assert (
        "content, data, design, social, testing, business, other"
        in response.get_json()["error"]["details"]["category"][0]
    )
    assert store.listings(db).count_documents({}) == 0


def test_a_category_typed_in_capitals_is_stored_as_its_code_and_found_by_it(platform, verified_org):
    listing = platform.published_listing(category=" Design ")
    assert listing["category"] == "design"
    assert [item["id"] for item in platform.search(category="DESIGN")["items"]] == [listing["id"]]
    assert platform.search(category="data")["items"] == []


def test_search_by_an_unknown_domain_is_a_422(client):
    response = client.get("/listings?category=engineering")
    assert response.status_code == 422
    assert "category" in response.get_json()["error"]["details"]


def test_a_stipend_below_the_floor_is_refused_saying_the_floor(client, callers, db, verified_org):
    response = client.post(
        "/listings", json=listing_body(stipend={"amount": "500", "currency": "INR"}), headers=callers["employer"]
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "stipend_below_floor"
    assert "1,000 INR" in error["message"]
    assert store.listings(db).count_documents({}) == 0


def test_a_stipend_cut_below_the_floor_by_an_edit_is_refused_and_nothing_changes(
    client, callers, platform, verified_org
):
    listing = platform.create()
    response = client.patch(
        f"/listings/{listing['id']}", json={"stipend": {"amount": "100"}}, headers=callers["employer"]
    )
    assert response.status_code == 422
    assert client.get(f"/listings/{listing['id']}", headers=callers["employer"]).get_json()["stipend"] == {
        "amount": "15000.00",
        "currency": "INR",
    }


@pytest.fixture
def unpaid_platform(settings_for, callers):
    """The listing service of an operator who set the floor to 0 (unpaid listings allowed)."""
    settings = settings_for("listing", extra={"STINT_STIPEND_FLOOR": "0"})
    with service_app(create_app, settings) as app:
        platform = Platform(app.test_client(), callers)
        platform.register()
        platform.verify()
        yield platform


def test_with_the_floor_at_zero_a_listing_may_pay_nothing_and_is_labelled_unpaid(unpaid_platform):
    unpaid = unpaid_platform.published_listing(stipend={"amount": "0", "currency": "INR"})
    paid = unpaid_platform.published_listing()
    assert unpaid["unpaid"] is True
    assert paid["unpaid"] is False
    found = {item["id"]: item["unpaid"] for item in unpaid_platform.search()["items"]}
    assert found == {unpaid["id"]: True, paid["id"]: False}


def test_a_floor_that_is_not_an_amount_stops_the_start(settings_for):
    with pytest.raises(ConfigError):
        create_app(settings_for("listing", extra={"STINT_STIPEND_FLOOR": "a lot"}))


def test_apply_by_typed_as_a_plain_date_closes_at_the_end_of_that_day_in_india(platform, verified_org):
    day = date.today() + timedelta(days=9)
    listing = platform.create(apply_by=day.isoformat())
    closes = datetime.fromisoformat(listing["apply_by"])
    assert closes == datetime.fromisoformat(f"{day.isoformat()}T23:59:59.999+05:30")


@pytest.mark.parametrize(
    ("apply_by", "code"),
    [
        ((date.today() - timedelta(days=2)).isoformat(), "apply_by_passed"),
        ("12/10/2026", "validation_failed"),
        ("2026-12-40", "validation_failed"),
        ("2026-12-10T10:00:00", "validation_failed"),
    ],
)
def test_a_past_or_garbled_apply_by_is_refused_with_a_clear_422(client, callers, db, verified_org, apply_by, code):
    response = client.post("/listings", json=listing_body(apply_by=apply_by), headers=callers["employer"])
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == code
    if code == "validation_failed":
        assert "2026-12-10" in error["details"]["apply_by"][0] or "timezone" in error["details"]["apply_by"][0]
    assert store.listings(db).count_documents({}) == 0


# ---- the migration of free-text categories ----------------------------------------------


def _stored_before_the_domains(db, platform, category: str, publish: bool) -> str:
    """A listing as the service stored it when categories were free text."""
    listing = platform.published_listing() if publish else platform.create()
    store.listings(db).update_one(
        {"_id": listing["id"]}, {"$set": {"category": category, "category_key": category.lower()}}
    )
    return listing["id"]


def test_free_text_categories_are_mapped_once_and_published_ones_announce_it(db, platform, verified_org, tap):
    ids = {
        text: _stored_before_the_domains(db, platform, text, publish)
        for text, publish in (("Data", True), ("graphic design", False), ("Engineering", True), ("research", False))
    }
    on_domain = platform.published_listing(category="social")["id"]
    tap.read(5)  # registered, verified and the three published events so far
    before = {listing["_id"]: listing["version"] for listing in store.listings(db).find()}

    prepare(db)  # what the worker does at start
    after = {listing["_id"]: listing for listing in store.listings(db).find()}

    assert {text: after[i]["category"] for text, i in ids.items()} == {
        "Data": "data",
        "graphic design": "design",
        "Engineering": "other",
        "research": "data",
    }
    assert after[ids["Engineering"]]["category_text"] == "Engineering"
    assert after[on_domain]["version"] == before[on_domain]
    assert platform.search(category="other")["items"][0]["id"] == ids["Engineering"]

    assert handlers.map_free_text_categories(db) == 0  # a second run changes nothing
    assert {listing["_id"]: listing["version"] for listing in store.listings(db).find()} == {
        i: listing["version"] for i, listing in after.items()
    }
    events = tap.read(5 + 2)
    updated = [e for e in events if e["type"] == "stint.listing.updated.v1"]
    assert sorted(e["data"]["category"] for e in updated) == ["data", "other"]


def test_the_migration_command_maps_a_stored_listing_and_says_how_many(db, settings, platform, verified_org):
    listing_id = _stored_before_the_domains(db, platform, "Data entry", publish=False)
    environment = {
        **os.environ,
        "STINT_MONGO_URL": settings.mongo_url,
        "STINT_MONGO_DB": settings.mongo_db,
        "STINT_AUTH_SECRET": settings.auth_secret,
        "STINT_ENV": "test",
    }
    command = [sys.executable, "-m", "services.listing.migrate"]
    first = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=True)
    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=True)
    assert "1 listing(s) moved" in first.stdout
    assert "0 listing(s) moved" in again.stdout
    assert store.find_listing(db, listing_id)["category"] == "data"
