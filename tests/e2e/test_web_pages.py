"""Every role's pages against the real running services: forms post through the web to the APIs and the pages
show what the APIs answer. Sign-in is the one thing skipped here (the session holds a locally signed token, as
`make token` mints); test_web_sign_in.py signs in through the real Keycloak."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta

import pytest

from services.web import auth
from services.web.app import create_app
from shared.auth import mint_token
from tests.conftest import TEST_SECRET

WAIT_SECONDS = 30


class Visitor:
    """One person's browser on the web (Flask's test client): reads pages, fills in forms with their CSRF token."""

    def __init__(self, app, token: str | None = None):
        self.client = app.test_client()
        if token:
            with self.client.session_transaction() as session:
                session["tokens"] = {"access_token": token, "expires_at": time.time() + 3600}
                session["person"] = auth.person_from(token)

    def get(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[-1500:])
        return response.get_data(as_text=True)

    def submit(self, form_page: str, action: str, data: dict, status: int = 302):
        """Post `data` to `action` as the form on `form_page` does (with its CSRF token)."""
        page = self.get(form_page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = self.client.post(action, data={"csrf_token": token, **data})
        assert response.status_code == status, (action, response.status_code, response.get_data(as_text=True)[-2500:])
        return response


def csrf(visitor: Visitor, path: str) -> str:
    """The CSRF token of the form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', visitor.get(path)).group(1)


def eventually(check, what: str):
    """Wait for the services' events to make `check` true (it returns a truthy value)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"still not true after {WAIT_SECONDS}s: {what}")


@pytest.fixture(scope="module")
def web(platform, servers):
    """The web app on the platform's services and database (its own `_web` database for sessions)."""
    return create_app(
        dict(
            environ={},
            env="test",
            session_secret="e2e-session-secret",
            client_secret="not-used-without-sign-in",
            keycloak_url="http://127.0.0.1:9",
            mongo_url=servers.mongo_url,
            mongo_db=platform.env["STINT_MONGO_DB"],
            service_urls=dict(platform.urls),
        )
    )


def token(role: str, name: str, org: str | None = None) -> str:
    sub = f"{role}-{uuid.uuid4().hex[:8]}"
    return mint_token(TEST_SECRET, sub, role, org=org, name=name, email=f"{sub}@example.in")


def test_an_employer_posts_a_listing_a_student_applies_works_and_gets_a_credential(web):
    org = f"acme-{uuid.uuid4().hex[:6]}"
    employer = Visitor(web, token("employer", "Priya Employer", org))
    admin = Visitor(web, token("admin", "Admin"))
    student = Visitor(web, token("student", "Asha Student"))

    # The employer's organisation: registered, then verified by an admin from the waiting list.
    assert employer.client.get("/employer").headers["Location"] == "/employer/organisation/register"
    employer.submit(
        "/employer/organisation/register",
        "/employer/organisation/register",
        {"name": "Acme Learning", "website": "https://acme.example.in", "registration_id": "U12345MH2020PTC1"},
    )
    assert "waiting for verification" in employer.get("/employer")
    waiting = admin.get("/admin/organisations")
    assert "Acme Learning" in waiting
    admin.submit("/admin/organisations", f"/admin/organisations/{org}/verify", {})
    assert "Acme Learning is verified" in admin.get("/admin/organisations")

    # A listing: a form the API refuses shows each sentence beside its field, then a good one is saved and published.
    refused = employer.submit("/employer/listings/new", "/employer/listings/new", {"title": "Hi"}, status=400)
    page = refused.get_data(as_text=True)
    assert "There is a problem" in page
    assert re.search(
        r'class="field-error" id="f-title-error">.*?A title: length must be between 3 and 120.', page, re.S
    )
    assert "Enter the brief." in page and "Enter the last day to apply." in page
    fields = {
        "title": "Write five blog posts about UPI payments",
        "summary": "Plain-language posts for first-time users",
        "brief": "Research how UPI works.\n\nWrite five 800-word posts for our blog.",
        "deliverables": "Five posts\nA list of sources",
        "skills": "Writing, Research",
        "category": "content",
        "duration_days": "14",
        "effort_hours": "30",
        "stipend_amount": "6,000",
        "seats": "2",
        "apply_by": (date.today() + timedelta(days=10)).isoformat(),
        "screening_questions": "Link one piece of your writing",
    }
    created = employer.submit("/employer/listings/new", "/employer/listings/new", fields)
    listing_path = created.headers["Location"]
    listing_id = listing_path.rsplit("/", 1)[-1]
    employer.submit(listing_path, f"/employer/listings/{listing_id}/publish", {})
    assert "Published" in employer.get(listing_path)

    # The student finds it, applies (a blank answer is refused beside the question), and follows it.
    assert "Write five blog posts about UPI payments" in student.get("/?q=UPI+blog&category=content")
    listing_page = student.get(f"/listings/{listing_id}")
    assert "₹6,000" in listing_page and "Apply for this project" in listing_page
    apply_path = f"/student/apply/{listing_id}"

    def refused_blank_answer():
        # 409 until the application service has heard the listing was published; then the blank answer is refused.
        response = student.client.post(
            apply_path, data={"csrf_token": csrf(student, apply_path), "cover_note": "I write.", "answer-0": " "}
        )
        return response.status_code == 400 and "Every screening question needs an answer" in response.get_data(
            as_text=True
        )

    eventually(refused_blank_answer, "the application service knows the listing and refuses a blank answer")
    applied = student.submit(
        apply_path, apply_path, {"cover_note": "I write weekly.", "answer-0": "https://asha.example.in/blog"}
    )
    application_path = applied.headers["Location"]
    application_id = application_path.rsplit("/", 1)[-1]
    assert "Applied" in student.get(application_path)
    assert "Write five blog posts about UPI payments" in student.get("/student")

    # The employer accepts; the student sends work; the employer approves it with hours, rating and skills.
    applicants = employer.get(f"/employer/listings/{listing_id}/applicants")
    assert "Asha Student" in applicants
    review_path = f"/employer/applications/{application_id}"
    employer.submit(review_path, f"{review_path}/accept", {})
    assert "Accepted" in employer.get(review_path)
    work_path = f"/student/applications/{application_id}/work"
    bad_link = student.submit(work_path, work_path, {"links": "not a link", "hours_spent": "20"}, status=400)
    assert "Links to your work: not a valid url" in bad_link.get_data(as_text=True).lower().replace(
        "links to your work", "Links to your work"
    )
    student.submit(work_path, work_path, {"links": "https://docs.example.in/upi-posts", "hours_spent": "28"})
    employer.submit(
        review_path,
        f"{review_path}/review",
        {
            "decision": "approve",
            "hours_verified": "28",
            "rating": "5",
            "skills_demonstrated": "Writing",
            "feedback": "Great",
        },
    )
    assert "Approved" in student.get(application_path)

    # The credential arrives; its verification page says it is genuine.
    def issued_credentials():
        page = student.get("/student/credentials")
        return page if "Write five blog posts" in page else None

    credentials = eventually(issued_credentials, "the credential is issued")
    credential_id = re.search(r"/verify/([0-9a-f-]{36})", credentials).group(1)
    verification = student.get(f"/verify/{credential_id}")
    assert "Verified: this credential is genuine" in verification

    # A registrar verifies it in a batch and records credit; the inbox shows the student's news.
    registrar = Visitor(web, token("university", "Registrar", f"uni-{uuid.uuid4().hex[:6]}"))
    batch = registrar.submit(
        "/university/verify", "/university/verify", {"credential_ids": f"urn:uuid:{credential_id}"}, status=200
    )
    assert "1 of 1 verified" in batch.get_data(as_text=True)
    decide_path = f"/university/credentials/{credential_id}/decision"
    registrar.submit(decide_path, decide_path, {"decision": "accepted", "credits_awarded": "0.5"})
    desk = registrar.get("/university")
    assert "Asha Student" in desk and "Accepted" in desk
    assert registrar.client.get("/university/decisions.csv").get_data(as_text=True).count("\n") >= 2
    eventually(lambda: "Write five blog posts" in student.get("/inbox"), "the student's inbox has news")
