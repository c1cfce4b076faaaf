"""The listing rules: states, deadlines, seats and search words, without any server."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.listing import domain
from shared.errors import Conflict, Unprocessable
from shared.events import validate_data

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ORG = {"_id": "acme", "name": "Acme Labs", "status": "pending"}
VERIFIED_ORG = {**ORG, "status": "verified"}


def fields(**overrides):
    """What an employer writes for a new listing (as the HTTP schema loads it)."""
    return {
        "title": "Build a C++ parser for invoices",
        "summary": "Parse PDF invoices into JSON with Python and C++",
        "brief": "We receive 2,000 invoices a month ...",
        "deliverables": ["A parser", "Tests"],
        "skills": ["Python", "Machine  Learning", "C++"],
        "category": "data",
        "duration_days": 14,
        "effort_hours": 40.0,
        "stipend": {"amount": Decimal("15000"), "currency": "INR"},
        "seats": 2,
        "apply_by": NOW + timedelta(days=10),
        **overrides,
    }


def draft(floor=domain.StipendFloor(), **overrides):
    return domain.new_listing("L1", fields(**overrides), ORG, "emp-1", NOW, floor)


def published(**overrides):
    listing = draft(**overrides)
    return {**listing, **domain.publish(listing, VERIFIED_ORG, NOW)}


# ---- creating --------------------------------------------------------------------------


def test_a_new_listing_is_a_draft_at_version_one_with_no_seats_filled():
    listing = draft()
    assert listing["status"] == "draft"
    assert listing["version"] == 1
    assert listing["seats_filled"] == 0
    assert domain.seats_left(listing) == 2
    assert listing["screening_questions"] == []


def test_a_new_listing_keeps_the_stipend_as_an_exact_amount_and_a_number_to_filter_by():
    listing = draft(stipend={"amount": Decimal("1500.5"), "currency": "USD"})
    assert listing["stipend"] == {"amount": "1500.50", "currency": "USD"}
    assert listing["stipend_amount"] == 1500.5
    unpaid_allowed = domain.StipendFloor(Decimal(0))
    assert draft(unpaid_allowed, stipend={"amount": Decimal("-0"), "currency": "INR"})["stipend"]["amount"] == "0.00"


def test_a_listing_cannot_close_applications_in_the_past():
    with pytest.raises(Unprocessable) as error:
        draft(apply_by=NOW - timedelta(minutes=1))
    assert error.value.code == "apply_by_passed"


def test_a_listing_cannot_stay_open_for_more_than_a_year():
    with pytest.raises(Unprocessable) as error:
        draft(apply_by=NOW + timedelta(days=400))
    assert error.value.code == "apply_by_too_far"


def test_the_effort_asked_for_must_fit_the_duration():
    with pytest.raises(Unprocessable) as error:
        draft(duration_days=1, effort_hours=40)
    assert error.value.code == "effort_exceeds_duration"


# ---- search words ----------------------------------------------------------------------


def test_search_terms_are_the_lowercase_words_of_title_summary_and_skills():
    terms = draft()["search_terms"]
    assert {"build", "c++", "parser", "invoices", "pdf", "json", "python", "machine", "learning"} <= set(terms)
    assert "for" not in terms  # stop words narrow nothing
    assert terms == sorted(set(terms))


def test_a_query_is_split_into_the_same_words_as_the_index():
    assert domain.query_terms("  Python, C++ and the PARSER  python") == ["python", "c++", "parser"]
    assert domain.query_terms(None) == []
    assert domain.query_terms("the and of") == []


def test_a_query_with_too_many_words_is_refused():
    with pytest.raises(Unprocessable) as error:
        domain.query_terms(" ".join(f"word{i}" for i in range(11)))
    assert error.value.code == "too_many_search_words"


def test_skills_are_compared_case_and_space_insensitively():
    assert draft()["skill_keys"] == ["c++", "machine learning", "python"]
    assert domain.skill_key("  machine   LEARNING ") == "machine learning"


# ---- publishing, editing, closing ------------------------------------------------------


def test_publishing_needs_a_verified_organisation():
    with pytest.raises(Conflict) as error:
        domain.publish(draft(), ORG, NOW)
    assert error.value.code == "org_not_verified"


def test_publishing_a_draft_stamps_it_and_takes_the_organisations_current_name_and_status():
    listing = draft()
    changes = domain.publish(listing, {**VERIFIED_ORG, "name": "Acme Labs Pvt Ltd"}, NOW)
    assert changes["status"] == "published"
    assert changes["published_at"] == NOW
    assert changes["org_name"] == "Acme Labs Pvt Ltd"
    assert changes["org_status"] == "verified"
    assert changes["version"] == 2


def test_publishing_after_the_deadline_is_refused():
    listing = draft()
    with pytest.raises(Unprocessable) as error:
        domain.publish(listing, VERIFIED_ORG, listing["apply_by"] + timedelta(seconds=1))
    assert error.value.code == "apply_by_passed"


def test_publishing_twice_changes_nothing():
    assert domain.publish(published(), VERIFIED_ORG, NOW) is None


def test_a_closed_listing_can_be_neither_published_nor_edited():
    listing = published()
    closed = {**listing, **domain.close(listing, domain.CLOSED_BY_OWNER, NOW)}
    with pytest.raises(Conflict) as error:
        domain.publish(closed, VERIFIED_ORG, NOW)
    assert error.value.code == "listing_closed"
    with pytest.raises(Conflict) as error:
        domain.edit(closed, {"title": "New title"}, NOW)
    assert error.value.code == "listing_closed"


def test_only_a_published_listing_can_be_closed_and_closing_again_changes_nothing():
    with pytest.raises(Conflict) as error:
        domain.close(draft(), domain.CLOSED_BY_OWNER, NOW)
    assert error.value.code == "listing_not_published"
    listing = published()
    closed = {**listing, **domain.close(listing, domain.CLOSED_BY_OWNER, NOW)}
    assert closed["closed_reason"] == "closed_by_owner"
    assert domain.close(closed, domain.CLOSED_BY_OWNER, NOW) is None


def test_an_edit_updates_the_search_words_and_bumps_the_version():
    listing = published()
    changes = domain.edit(listing, {"title": "Design a Kotlin app", "skills": ["Kotlin"]}, NOW)
    assert changes["version"] == listing["version"] + 1
    assert "kotlin" in changes["search_terms"]
    assert "parser" not in changes["search_terms"]
    assert changes["skill_keys"] == ["kotlin"]


def test_an_edit_that_changes_nothing_is_no_change():
    listing = draft()
    assert domain.edit(listing, {"title": listing["title"], "seats": 2}, NOW) is None


def test_an_edit_keeps_the_effort_within_the_duration():
    with pytest.raises(Unprocessable):
        domain.edit(draft(), {"duration_days": 2}, NOW)


def test_a_published_listing_cannot_shrink_below_its_filled_seats():
    listing = {**published(seats=3), "seats_filled": 2, "accepted_applications": ["a1", "a2"]}
    with pytest.raises(Conflict) as error:
        domain.edit(listing, {"seats": 2}, NOW)
    assert error.value.code == "seats_below_filled"


# ---- seats -----------------------------------------------------------------------------


def test_an_accepted_application_takes_a_seat_once():
    listing = published()
    changes = domain.count_seat(listing, "app-1", NOW)
    assert changes["seats_filled"] == 1
    assert "status" not in changes
    assert domain.count_seat({**listing, **changes}, "app-1", NOW) is None


def test_filling_the_last_seat_closes_the_listing():
    listing = published(seats=1)
    changes = domain.count_seat(listing, "app-1", NOW)
    assert changes["status"] == "closed"
    assert changes["closed_reason"] == "seats_filled"


def test_a_withdrawn_acceptance_frees_its_seat_and_is_never_counted_again():
    listing = published()
    listing = {**listing, **domain.count_seat(listing, "app-1", NOW)}
    listing = {**listing, **domain.release_seat(listing, "app-1", NOW)}
    assert listing["seats_filled"] == 0
    assert domain.release_seat(listing, "app-1", NOW) is None
    assert domain.count_seat(listing, "app-1", NOW) is None  # a replayed acceptance


def test_a_listing_closed_when_full_stays_closed_when_a_seat_frees():
    listing = published(seats=1)
    listing = {**listing, **domain.count_seat(listing, "app-1", NOW)}
    listing = {**listing, **domain.release_seat(listing, "app-1", NOW)}
    assert listing["status"] == "closed"
    assert domain.seats_left(listing) == 1
    assert not domain.is_open_for_applications(listing, NOW)


# ---- deadline and events ---------------------------------------------------------------


def test_the_deadline_closes_only_published_listings_whose_deadline_passed():
    listing = published()
    after = listing["apply_by"] + timedelta(seconds=1)
    assert domain.close_if_expired(listing, NOW) is None
    assert domain.close_if_expired(draft(), after) is None
    assert domain.close_if_expired(listing, after)["closed_reason"] == "deadline"
    assert domain.is_expired(listing, after)
    assert not domain.is_open_for_applications(listing, after)


def test_each_change_announces_the_right_event():
    a_draft, a_listing = draft(), published()
    a_closed = {**a_listing, "status": "closed"}
    assert domain.event_type_for(a_draft, {**a_draft, "title": "x"}) is None
    assert domain.event_type_for(a_draft, a_listing) == "stint.listing.published.v1"
    assert domain.event_type_for(a_listing, {**a_listing, "title": "x"}) == "stint.listing.updated.v1"
    assert domain.event_type_for(a_listing, a_closed) == "stint.listing.closed.v1"
    assert domain.event_type_for(a_closed, {**a_closed, "seats_filled": 0}) is None


def test_the_snapshot_passes_the_event_catalog_and_carries_org_and_version():
    listing = published()
    data = domain.snapshot(listing)
    assert validate_data("stint.listing.published.v1", data).listing_id == "L1"
    assert data["org_name"] == "Acme Labs"
    assert data["version"] == 2
    assert "search_terms" not in data


def test_a_new_organisation_is_pending_and_its_snapshot_passes_the_catalog():
    org = domain.new_org("acme", {"name": "Acme", "website": "https://acme.example"}, "hr@acme.example", "u1", NOW)
    assert org["status"] == "pending"
    assert validate_data("stint.org.registered.v1", domain.org_snapshot(org)).contact_email == "hr@acme.example"


def test_times_are_kept_to_the_millisecond():
    assert domain.to_millis(datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)).microsecond == 123000
