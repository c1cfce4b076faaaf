"""What the listing API accepts at its edge, without any server."""

from decimal import Decimal

import marshmallow as ma
import pytest

from services.listing.schemas import ListingCreateSchema, ListingPatchSchema, ListingSearchQuerySchema, OrgProfileSchema

VALID = {
    "title": "Build an invoice parser",
    "summary": "Parse PDF invoices into JSON",
    "brief": "We receive 2,000 invoices a month ...",
    "deliverables": ["A parser"],
    "skills": ["Python"],
    "category": "data",
    "duration_days": 14,
    "effort_hours": 40,
    "stipend": {"amount": "15000"},
    "seats": 2,
    "apply_by": "2030-01-01T00:00:00+05:30",
}


def errors_of(schema, data):
    with pytest.raises(ma.ValidationError) as error:
        schema.load(data)
    return error.value.messages


def test_a_complete_listing_loads_with_inr_as_the_default_currency_and_no_questions():
    loaded = ListingCreateSchema().load(VALID)
    assert loaded["stipend"] == {"amount": Decimal("15000.00"), "currency": "INR"}
    assert loaded["screening_questions"] == []
    assert loaded["apply_by"].utcoffset() is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "   "),
        ("title", "x" * 121),
        ("summary", 42),
        ("brief", "x" * 10_001),
        ("deliverables", []),
        ("deliverables", ["x"] * 21),
        ("skills", ["x" * 51]),
        ("skills", "Python"),
        ("duration_days", 0),
        ("duration_days", 29),
        ("duration_days", "14"),
        ("duration_days", 1.5),
        ("duration_days", True),
        ("effort_hours", 0),
        ("effort_hours", 161),
        ("effort_hours", "40"),
        ("stipend", {"amount": "-1"}),
        ("stipend", {"amount": "NaN"}),
        ("stipend", {"amount": "100", "currency": "inr"}),
        ("stipend", {"amount": "100", "currency": "RUPEES"}),
        ("stipend", {"amount": "100", "tip": "5"}),
        ("stipend", {"currency": "INR"}),
        ("seats", 0),
        ("seats", 51),
        ("apply_by", "2030-01-01T00:00:00"),
        ("apply_by", "next friday"),
        ("screening_questions", ["Why?"] * 6),
        ("screening_questions", ["x" * 501]),
    ],
)
def test_a_listing_with_a_bad_value_is_refused(field, value):
    assert field in errors_of(ListingCreateSchema(), {**VALID, field: value})


@pytest.mark.parametrize("field", ["title", "summary", "brief", "deliverables", "skills", "stipend", "apply_by"])
def test_a_listing_without_a_required_field_is_refused(field):
    data = {k: v for k, v in VALID.items() if k != field}
    assert field in errors_of(ListingCreateSchema(), data)


def test_unknown_fields_are_refused_everywhere():
    assert "status" in errors_of(ListingCreateSchema(), {**VALID, "status": "published"})
    assert "seats_filled" in errors_of(ListingPatchSchema(), {"seats_filled": 3})
    profile = {"name": "Acme", "website": "https://acme.example", "registration_id": "U12345", "status": "verified"}
    assert "status" in errors_of(OrgProfileSchema(), profile)


def test_an_edit_may_change_any_single_field_and_adds_no_defaults():
    assert ListingPatchSchema().load({"seats": 5}) == {"seats": 5}
    assert ListingPatchSchema().load({}) == {}
    assert "stipend" in errors_of(ListingPatchSchema(), {"stipend": {"currency": "USD"}})


@pytest.mark.parametrize(
    "website", ["javascript:alert(1)", "ftp://acme.example", "acme.example", "https://" + "a" * 300 + ".com"]
)
def test_an_organisation_website_must_be_an_http_link(website):
    profile = {"name": "Acme", "website": website, "registration_id": "U12345"}
    assert "website" in errors_of(OrgProfileSchema(), profile)


@pytest.mark.parametrize("registration_id", ["", " U1", "U1;DROP", "x" * 65])
def test_a_registration_id_is_a_plain_identifier(registration_id):
    profile = {"name": "Acme", "website": "https://acme.example", "registration_id": registration_id}
    assert "registration_id" in errors_of(OrgProfileSchema(), profile)


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "101"}, {"max_days": "40"}, {"min_stipend": "-5"}, {"q": "x" * 201}]
)
def test_search_arguments_are_bounded(query):
    errors_of(ListingSearchQuerySchema(), query)


def test_text_that_is_not_valid_unicode_is_refused_before_it_reaches_the_database():
    assert "title" in errors_of(ListingCreateSchema(), {**VALID, "title": "Lone \ud800 surrogate"})
    assert "skills" in errors_of(ListingPatchSchema(), {"skills": ["ok", "bad \udfff"]})
    profile = {"name": "Acme \ud800", "website": "https://acme.example", "registration_id": "U1"}
    assert "name" in errors_of(OrgProfileSchema(), profile)
