"""Endorsements as people read them: the verification page and the student's credentials show the organisation's
recommendation and whether its signature holds; the employer writes one on the approved work's page, once."""

from flask import render_template

from tests.support.web_pages import text_of
from tests.unit.web.test_web_credential_pages import CREDENTIAL, VERIFICATION

ENDORSEMENT = {
    "id": "urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8",
    "credential_id": CREDENTIAL["id"],
    "application_id": "a-1",
    "org_id": "acme-3f9a1c",
    "org_name": "Acme Pvt Ltd",
    "issuer": "did:web:cert.stint.test:orgs:acme-3f9a1c",
    "comment": "Clear & <b>careful</b> writing.",
    "issued_at": "2026-11-30T20:00:00+00:00",
    "url": "http://127.0.0.1:8003/endorsements/6ba7b810-9dad-41d1-80b4-00c04fd430c8",
}
ON_PAGE = {
    "org_name": "Acme Pvt Ltd",
    "issuer": ENDORSEMENT["issuer"],
    "comment": ENDORSEMENT["comment"],
    "issued": "2026-11-30",
    "issued_at": "2026-11-30T20:00:00+00:00",
    "url": ENDORSEMENT["url"],
    "verified": True,
    "checks": [{"name": "signature", "passed": True, "message": "the eddsa-rdfc-2022 signature is valid"}],
}
APPLICATION = {
    "id": "a-1",
    "status": "approved",
    "student": {"name": "Asha Kulkarni", "email": "asha@example.org"},
    "listing_id": "l-1",
    "listing_title": "Research & write: 5 blog posts",
    "cover_note": "Hello",
    "answers": [],
    "submissions": [],
    "history": [],
    "payment": None,
}


def render(app, template: str, **context) -> str:
    with app.test_request_context("/"):
        return render_template(template, errors={}, summary=[], values={}, **context)


def test_the_verification_page_shows_the_recommendation_and_that_its_signature_holds(app):
    html = render(app, "public/verification.html", unknown=False, result=VERIFICATION | {"endorsements": [ON_PAGE]})
    text = text_of(html)
    assert "Recommended by Acme Pvt Ltd Signature verified signed by Acme Pvt Ltd on 1 Dec 2026" in text
    assert "Clear &amp; &lt;b&gt;careful&lt;/b&gt; writing." in html
    assert f'href="{ENDORSEMENT["url"]}"' in html


def test_a_recommendation_whose_signature_fails_says_so_with_the_failed_check(app):
    failed = ON_PAGE | {
        "verified": False,
        "checks": [{"name": "signature", "passed": False, "message": "the signature does not match the credential"}],
    }
    text = text_of(
        render(app, "public/verification.html", unknown=False, result=VERIFICATION | {"endorsements": [failed]})
    )
    assert "Could not be verified" in text
    assert "Signature verified" not in text
    assert "Failed: The signature does not match the credential" in text
    assert "Signed by Stint" not in text.split("Recommended by")[1]  # the organisation signed it, not Stint


def test_my_credentials_show_who_recommended_the_work(app):
    html = render(
        app, "student/credentials.html", page={"items": [CREDENTIAL]}, endorsements={CREDENTIAL["id"]: [ENDORSEMENT]}
    )
    assert "Recommended by Acme Pvt Ltd Clear & <b>careful</b> writing." in text_of(html)


def test_the_employer_is_offered_the_recommendation_form_on_approved_work_until_they_write_one(app):
    offered = render(app, "employer/application.html", application=APPLICATION, endorsement=None, endorsable=True)
    assert 'action="/employer/applications/a-1/endorsement"' in offered
    assert 'name="csrf_token"' in offered and 'name="comment"' in offered
    written = text_of(
        render(app, "employer/application.html", application=APPLICATION, endorsement=ENDORSEMENT, endorsable=False)
    )
    assert "Your recommendation Signed by Acme Pvt Ltd on 1 Dec 2026 Clear & <b>careful</b> writing." in written
    assert "Sign and publish" not in written
