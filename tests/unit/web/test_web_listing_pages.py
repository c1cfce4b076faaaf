"""A listing as the pages show it: an unpaid one says so, and an organisation with a payment dispute left open is
flagged, as the listing API's `unpaid` and `org_flag` say (the web decides neither)."""

from flask import render_template

from tests.support.web_pages import text_of

LISTING = {
    "id": "l-1",
    "title": "Tag 200 photos",
    "summary": "Label product photos",
    "org_name": "Acme",
    "category": "data",
    "stipend": {"amount": "0", "currency": "INR"},
    "unpaid": True,
    "org_flag": {"open_payment_dispute_since": "2026-11-02T10:00:00+00:00"},
    "duration_days": 7,
    "effort_hours": 10,
    "seats": 2,
    "seats_left": 2,
    "apply_by": "2026-12-20T18:29:59+00:00",
    "status": "published",
    "open_for_applications": True,
    "brief": "Label them.",
    "deliverables": ["A CSV"],
    "skills": ["Attention"],
}


def test_an_unpaid_listing_says_so_and_a_flagged_organisation_is_warned_of(app):
    with app.test_request_context("/listings/l-1"):
        page = text_of(render_template("public/listing.html", listing=LISTING, own=False))

    assert "Stipend Unpaid This project pays no stipend." in page
    assert "Warning: Acme has left a student's payment dispute open since 2 Nov 2026." in page


def test_a_paid_listing_of_an_organisation_in_good_standing_shows_its_stipend_and_no_warning(app):
    listing = {**LISTING, "stipend": {"amount": "6000", "currency": "INR"}, "unpaid": False, "org_flag": None}
    with app.test_request_context("/"):
        page = text_of(render_template("public/home.html", page={"items": [listing]}, values={}, errors={}, summary=[]))

    assert "Stipend ₹6,000" in page and "Warning" not in page and "Unpaid" not in page
