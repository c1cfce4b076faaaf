"""A credential as the pages say it: LinkedIn's "Add to profile" link (the API fills it in) in a new tab, credits
counted the way people count them, verification checks and dates in people's words, and the admin's health said
as words, not JSON."""

import json
import re
from html import unescape

from flask import render_template

from services.web.templating import credits
from services.web.views.admin import readiness_words
from tests.support.web_pages import text_of

CREDENTIAL = {
    "id": "urn:uuid:1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
    "application_id": "a-1",
    "listing_title": "Research & write: 5 blog posts",
    "org_name": "Acme Pvt Ltd",
    "hours": 30,
    "credits_recommended": 1,
    "issued_at": "2026-11-30T20:00:00+00:00",  # 1 Dec 2026 in India
    "revoked": False,
    "verification_url": "http://127.0.0.1:8003/verify/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
    "linkedin_url": "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Research+%26+write",
}
VERIFICATION = {
    "state": "valid",
    "headline": "Verified: this credential is genuine, unaltered and not revoked.",
    "verified": True,
    "title": "Research and write 5 blog posts",
    "student_name": "Asha Kulkarni",
    "employer": "Acme Pvt Ltd",
    "hours": "30",
    "credits": "1.5",
    "activity": "2026-11-01 to 2026-11-30",
    "issued": "2026-11-30",
    "issuer_name": "Stint",
    "revoked_at": None,
    "checks": [
        {"name": "well_formed", "passed": True, "message": "a W3C VC 2.0 OpenBadgeCredential", "label": "Well-formed"},
        {"name": "signature", "passed": True, "message": "the eddsa-rdfc-2022 signature is valid"},
        {"name": "status", "passed": True, "message": "not revoked"},
        {"name": "validity_window", "passed": True, "message": "valid from 2026-11-30T10:00:00Z (no expiry)"},
    ],
    "json_url": "http://127.0.0.1:8003/credentials/1b9d",
    "pdf_url": "http://127.0.0.1:8003/credentials/1b9d/pdf",
    "verification_url": "http://127.0.0.1:8003/verify/1b9d",
}


def test_my_credentials_offers_linkedin_in_a_new_tab_for_each_credential_not_revoked(app):
    revoked = {**CREDENTIAL, "id": "urn:uuid:2", "listing_title": "Old work", "revoked": True, "revocation_reason": "x"}
    with app.test_request_context("/student/credentials"):
        html = render_template("student/credentials.html", page={"items": [CREDENTIAL, revoked]})

    links = re.findall(r'<a href="([^"]+)"([^>]*)>(.*?)</a>', html)
    linkedin = [(unescape(href), rest, text_of(words)) for href, rest, words in links if "LinkedIn" in words]
    assert len(linkedin) == 1
    href, attributes, words = linkedin[0]
    assert href == CREDENTIAL["linkedin_url"]  # as the certification API links it
    assert 'target="_blank"' in attributes and 'rel="noopener"' in attributes
    assert words == "Add to LinkedIn profile for Research & write: 5 blog posts (opens in new tab)"
    assert "1 credit recommended" in text_of(html)


def test_credits_are_counted_the_way_people_say_them():
    assert [credits(1), credits(1.0), credits(1.5), credits(2), credits("0.5")] == [
        "1 credit",
        "1 credit",
        "1.5 credits",
        "2 credits",
        "0.5 credits",
    ]


def test_the_verification_page_says_its_checks_and_dates_in_peoples_words(app):
    with app.test_request_context("/verify/1b9d"):
        page = text_of(
            render_template("public/verification.html", unknown=False, result=VERIFICATION, credential_id="1b9d")
        )

    assert "Credits recommended 1.5 credits" in page
    assert "Work done 1 Nov 2026 to 30 Nov 2026" in page
    assert "Issued 30 Nov 2026 by Stint" in page
    assert "Passed: Made as a W3C credential. A W3C VC 2.0 OpenBadgeCredential." in page
    assert "Passed: Signed by Stint. The eddsa-rdfc-2022 signature is valid." in page
    assert "Passed: Not revoked. Passed:" in page  # the message only repeats the name: said once
    assert "Passed: Within its validity dates. Valid from 30 Nov 2026 (no expiry)." in page
    assert "well_formed" not in page and "validity_window" not in page and "2026-11" not in page


def test_the_admin_reads_each_services_readiness_as_words():
    assert (
        readiness_words('{"status": "ready", "checks": {"database": "ok", "broker": "ok"}}')
        == "database ok · broker ok"
    )
    not_ready = json.dumps(
        {"error": {"code": "not_ready", "message": "down", "details": {"database": "ok", "broker": "unreachable"}}}
    )
    assert readiness_words(not_ready) == "database ok · broker unreachable"
    assert readiness_words("not reachable (ConnectionError)") == "not reachable (ConnectionError)"


def test_a_wide_table_scrolls_in_a_labelled_region_the_keyboard_can_reach(app):
    listing = {"id": "l-1", "title": "Tag photos", "status": "draft", "seats": 2, "seats_left": 2, "apply_by": None}
    with app.test_request_context("/employer"):
        html = render_template(
            "employer/home.html", org={"name": "Acme", "status": "verified"}, page={"items": [listing]}
        )

    assert '<div class="table-scroll" role="region" aria-label="Your organisation&#39;s listings" tabindex="0">' in html
    assert "Scroll sideways to see the whole table." in text_of(html)


def test_a_workers_metrics_are_summed_into_what_the_admin_reads():
    from services.web.worker_status import totals

    exposition = "\n".join(
        [
            "# TYPE stint_consumer_lag gauge",
            'stint_consumer_lag{group="g",topic="stint.listing",partition="0"} 3.0',
            'stint_consumer_lag{group="g",topic="stint.listing",partition="1"} 4.0',
            "# TYPE stint_dead_letters_total counter",
            'stint_dead_letters_total{topic="stint.listing"} 2.0',
            "",
        ]
    )
    sums = totals(exposition)
    assert (sums["stint_consumer_lag"], sums["stint_dead_letters_total"]) == (7.0, 2.0)
