"""The portfolio pages: anyone's view with link-preview tags and LinkedIn links, and the student's form with each
refusal beside its field."""

import re
from html import unescape

from flask import render_template
from werkzeug.datastructures import MultiDict

from services.web.problems import ApiProblem
from services.web.views.student import _portfolio_form, sample_rows
from tests.support.web_pages import text_of

PORTFOLIO = {
    "handle": "Asha-Rao",
    "name": "Asha Rao",
    "headline": "Data analyst in the making, Pune",
    "url": "http://127.0.0.1:8003/portfolios/Asha-Rao",
    "credentials": [
        {
            "id": "urn:uuid:1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
            "title": "Customer survey analysis",
            "org_name": "Acme Analytics",
            "issued_at": "2026-11-30T20:00:00+00:00",
            "hours": 45,
            "credits_recommended": 1.5,
            "verification_url": "http://127.0.0.1:8003/verify/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
            "linkedin_url": "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Customer",
        }
    ],
    "work_samples": [{"title": "Survey notebook", "url": "https://github.com/asha/survey", "description": "EDA"}],
}


def meta(html: str) -> dict[str, str]:
    """The page's <meta> tags by property or name."""
    return {
        unescape(k): unescape(v) for k, v in re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', html)
    }


def test_a_published_portfolio_previews_as_a_link_and_offers_linkedin_for_each_credential(app):
    with app.test_request_context("/portfolios/Asha-Rao"):
        html = render_template("public/portfolio.html", portfolio=PORTFOLIO)

    tags = meta(html)
    assert tags["og:title"] == tags["twitter:title"] == "Asha Rao — portfolio on Stint"
    assert tags["og:description"] == "Data analyst in the making, Pune" and tags["og:type"] == "profile"
    assert tags["og:url"] == "http://localhost/portfolios/Asha-Rao" and tags["twitter:card"] == "summary"
    page = text_of(html)
    assert "Customer survey analysis Acme Analytics · 45 hours · 1.5 credits recommended · issued 1 Dec 2026" in page
    assert 'href="https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&amp;name=Customer"' in html
    assert "Survey notebook" in page and 'href="https://github.com/asha/survey"' in html


def test_a_handle_without_a_published_portfolio_has_no_preview(app):
    with app.test_request_context("/portfolios/nobody"):
        html = render_template("public/portfolio.html", portfolio=None)

    assert "No portfolio here" in text_of(html) and "og:title" not in html


def test_work_sample_rows_are_read_in_order_less_those_removed():
    form = MultiDict(
        {
            "sample-0-title": "Old",
            "sample-0-url": "https://a.example",
            "sample-0-remove": "yes",
            "sample-1-title": " Kept ",
            "sample-1-url": "https://b.example",
            "sample-2-title": "",
            "sample-2-url": "",
        }
    )

    assert sample_rows(form) == [
        {"title": "Kept", "url": "https://b.example", "description": ""},
        {"title": "", "url": "", "description": ""},
    ]


def test_a_refused_handle_and_link_are_said_beside_their_fields(app):
    samples = [{"title": "Notebook", "url": "ftp://x", "description": ""}]
    taken = ApiProblem(409, "handle_taken", "the handle “asha” is taken: choose another", {"handle": "asha"})
    link = ApiProblem(422, "validation_failed", "invalid", {"work_samples": {"0": {"url": ["Not a valid URL."]}}})
    with app.test_request_context("/student/portfolio", method="POST"):
        for problem, field, words in (
            (taken, "handle", "The handle “asha” is taken: choose another."),
            (link, "work_samples-0-url", "The link of work sample 1: not a valid URL."),
        ):
            html, status = _portfolio_form({"credentials": []}, {"handle": "asha"}, [], samples, problem)
            assert status == 400
            assert re.search(rf'id="f-{field}-error">.*?{re.escape(words)}', html, re.S), text_of(html)


def test_the_form_offers_each_credential_with_the_shown_ones_ticked_one_empty_row_and_approved_work_links(app):
    offered = [
        {"id": "urn:uuid:1", "listing_title": "Survey", "org_name": "Acme", "hours": 45},
        {"id": "urn:uuid:2", "listing_title": "Blog posts", "org_name": "Acme", "hours": 30},
    ]
    with app.test_request_context("/student/portfolio"):
        html, status = _portfolio_form(
            {"credentials": offered, "work_links": [{"url": "https://github.com/asha/survey", "title": "Survey"}]},
            {"handle": "asha"},
            ["urn:uuid:1"],
            [],
        )

    assert status == 200 and 'value="urn:uuid:1" checked' in html and 'value="urn:uuid:2">' in html
    assert 'name="sample-0-url"' in html and 'name="sample-1-url"' not in html
    assert 'list="f-work-links"' in html and '<option value="https://github.com/asha/survey">Survey</option>' in html
