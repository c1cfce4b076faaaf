"""LinkedIn's "Add to profile" link: LinkedIn's certification form opens filled in with the credential."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from services.certification.linkedin import add_to_profile_url

RECORD = {
    "_id": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
    "credential_id": "urn:uuid:1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
    "listing_title": "Research & write: 5 blog posts",
    "org_name": "Acme Pvt Ltd",
    "issued_at": datetime(2026, 11, 30, 20, 0, tzinfo=UTC),  # 1 Dec 2026 in India
    "verification_url": "http://127.0.0.1:8003/verify/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
}


def test_the_linkedin_link_opens_linkedins_certification_form_filled_in_with_the_credential():
    parts = urlsplit(add_to_profile_url(RECORD))

    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.linkedin.com/profile/add"
    assert parse_qs(parts.query) == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": ["Research & write: 5 blog posts"],
        "organizationName": ["Acme Pvt Ltd"],
        "issueYear": ["2026"],
        "issueMonth": ["12"],
        "certUrl": [RECORD["verification_url"]],
        "certId": ["1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"],
    }
    assert "&" not in parts.query.split("name=")[1].split("&organizationName")[0]  # the title's "&" is encoded


def test_the_issue_month_is_the_month_in_india_when_the_time_was_stored_without_a_zone():
    naive = {**RECORD, "issued_at": datetime(2026, 11, 30, 20, 0)}  # read as UTC, as the database stores it

    assert parse_qs(urlsplit(add_to_profile_url(naive)).query)["issueMonth"] == ["12"]
