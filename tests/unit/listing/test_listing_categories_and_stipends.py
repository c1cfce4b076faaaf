"""Work domains, the stipend floor and unpaid listings, and dates people type, without any server."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import marshmallow as ma
import pytest

from services.listing import domain
from services.listing.schemas import ListingCreateSchema, ListingSchema, ListingSearchQuerySchema
from shared.errors import Unprocessable
from shared.events import validate_data
from tests.unit.listing.test_listing_schemas import VALID

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ORG = {"_id": "acme", "name": "Acme Labs", "status": "verified"}


def fields(**overrides):
    return {
        "title": "Write five blog posts",
        "summary": "Posts about UPI payments",
        "brief": "Five posts of 800 words.",
        "deliverables": ["Five posts"],
        "skills": ["Writing"],
        "category": "content",
        "duration_days": 14,
        "effort_hours": 30.0,
        "stipend": {"amount": Decimal("6000"), "currency": "INR"},
        "seats": 1,
        "apply_by": NOW + timedelta(days=10),
        **overrides,
    }


def errors_of(schema, data):
    with pytest.raises(ma.ValidationError) as error:
        schema.load(data)
    return error.value.messages


# ---- work domains ----------------------------------------------------------------------


def test_there_are_the_six_domains_of_the_seed_article_and_other():
    assert list(domain.CATEGORIES) == ["content", "data", "design", "social", "testing", "business", "other"]


@pytest.mark.parametrize("typed", ["data", "Data", "  DESIGN ", "other"])
def test_a_listing_category_is_a_domain_code_whatever_its_case(typed):
    assert ListingCreateSchema().load({**VALID, "category": typed})["category"] == typed.strip().lower()


@pytest.mark.parametrize("typed", ["Engineering", "", "data entry", 7, None])
def test_an_unknown_category_is_refused_with_the_choices(typed):
    message = errors_of(ListingCreateSchema(), {**VALID, "category": typed})["category"][0]
    if isinstance(typed, str) and typed:
        assert "content, data, design, social, testing, business, other" in message


def test_search_by_an_unknown_category_is_refused_and_a_known_one_is_normalised():
    assert ListingSearchQuerySchema().load({"category": "Data"})["category"] == "data"
    assert "category" in errors_of(ListingSearchQuerySchema(), {"category": "marketing"})


@pytest.mark.parametrize(
    ("free_text", "code"),
    [
        ("Data", "data"),
        ("data entry", "data"),
        ("Research", "data"),
        ("Market research", "business"),
        ("Design", "design"),
        ("Graphic design", "design"),
        ("UI/UX", "design"),
        ("Social media marketing", "social"),
        ("Content writing", "content"),
        ("Digital Marketing", "content"),
        ("Product testing", "testing"),
        ("User research", "testing"),
        ("QA", "testing"),
        ("Business strategy", "business"),
        ("Engineering", "other"),
        ("", "other"),
        ("social", "social"),
    ],
)
def test_free_text_categories_map_onto_the_domain_their_words_name(free_text, code):
    assert domain.category_of(free_text) == code


def test_recategorising_keeps_the_text_bumps_the_version_and_is_idempotent():
    listing = {**domain.new_listing("L1", fields(), ORG, "emp", NOW), "category": "Graphic Design", "version": 3}
    changes = domain.recategorise(listing, NOW)
    assert changes["category"] == changes["category_key"] == "design"
    assert changes["category_text"] == "Graphic Design"
    assert changes["version"] == 4
    assert domain.recategorise({**listing, **changes}, NOW) is None


# ---- stipends --------------------------------------------------------------------------


def test_a_stipend_below_the_floor_is_refused_saying_the_floor():
    with pytest.raises(Unprocessable) as error:
        domain.new_listing("L1", fields(stipend={"amount": Decimal("999.99"), "currency": "INR"}), ORG, "e", NOW)
    assert error.value.code == "stipend_below_floor"
    assert "at least 1,000 INR" in error.value.message


def test_the_floor_also_holds_when_the_stipend_is_edited_or_a_draft_published():
    listing = domain.new_listing("L1", fields(), ORG, "emp", NOW)
    with pytest.raises(Unprocessable):
        domain.edit(listing, {"stipend": {"amount": Decimal("10"), "currency": "INR"}}, NOW)
    raised = domain.StipendFloor(Decimal("8000"))
    with pytest.raises(Unprocessable):
        domain.publish(listing, ORG, NOW, raised)
    assert domain.edit(listing, {"title": "Write six blog posts"}, NOW, raised)["title"] == "Write six blog posts"


def test_with_the_floor_at_zero_a_listing_may_pay_nothing_and_says_it_is_unpaid():
    floor = domain.StipendFloor.from_extra({"STINT_STIPEND_FLOOR": "0"})
    listing = domain.new_listing(
        "L1", fields(stipend={"amount": Decimal("0"), "currency": "INR"}), ORG, "e", NOW, floor
    )
    assert ListingSchema().dump(listing)["unpaid"] is True
    assert domain.snapshot(listing)["unpaid"] is True
    validate_data("stint.listing.published.v1", domain.snapshot({**listing, "status": "published"}))
    paid = domain.new_listing("L2", fields(), ORG, "e", NOW, floor)
    assert ListingSchema().dump(paid)["unpaid"] is False


def test_another_currency_has_its_own_floor_or_must_pay_something():
    floor = domain.StipendFloor.from_extra({"STINT_STIPEND_FLOOR_USD": "15"})
    assert floor.minimum("INR") == Decimal("1000")
    with pytest.raises(Unprocessable):
        domain.check_stipend({"amount": "10", "currency": "USD"}, floor)
    domain.check_stipend({"amount": "15", "currency": "USD"}, floor)
    with pytest.raises(Unprocessable):
        domain.check_stipend({"amount": "0", "currency": "EUR"}, floor)
    domain.check_stipend({"amount": "1", "currency": "EUR"}, floor)


@pytest.mark.parametrize("value", ["-1", "lots", "NaN", "Infinity"])
def test_a_nonsensical_floor_stops_the_start(value):
    with pytest.raises(ValueError):
        domain.StipendFloor.from_extra({"STINT_STIPEND_FLOOR": value})


# ---- dates -----------------------------------------------------------------------------


def test_apply_by_may_be_a_plain_date_meaning_the_end_of_that_day_in_india():
    loaded = ListingCreateSchema().load({**VALID, "apply_by": "2030-01-01"})
    assert loaded["apply_by"].isoformat() == "2030-01-01T23:59:59.999000+05:30"


@pytest.mark.parametrize("typed", ["01/01/2030", "2030-13-01", "tomorrow", "2030-01-01T10:00"])
def test_a_garbled_apply_by_is_refused(typed):
    assert "apply_by" in errors_of(ListingCreateSchema(), {**VALID, "apply_by": typed})
