"""Every role's pages against the real running services: forms post through the web to the APIs and the pages
show what the APIs answer. Sign-in is the one thing skipped here (the session holds a locally signed token, as
`make token` mints); test_web_sign_in.py signs in through the real Keycloak."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from services.web import auth
from services.web.app import create_app
from shared.auth import mint_token
from tests.conftest import TEST_SECRET
from tests.support.keycloak import create_user, unique_email
from tests.support.samples import today_in_india
from tests.support.web_pages import csrf_token, text_of

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
        """A page's HTML (asserting its status)."""
        response = self.client.get(path)
        assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[-1500:])
        return response.get_data(as_text=True)

    def read(self, path: str) -> str:
        """A page's visible text."""
        return text_of(self.get(path))

    def submit(self, form_page: str, action: str, data: dict, status: int = 302):
        """Post `data` to `action` as the form on `form_page` does (with its CSRF token)."""
        response = self.client.post(action, data={"csrf_token": csrf_token(self.get(form_page)), **data})
        assert response.status_code == status, (
            action,
            response.status_code,
            re.findall(r"There is a problem.*?</ul>", response.get_data(as_text=True), re.S),
        )
        return response


def page_with(visitor: Visitor, path: str, text: str) -> str | None:
    """The page's HTML once it shows `text`; None before."""
    html = visitor.get(path)
    return html if text in html else None


def applied_when_known(visitor: Visitor, apply_path: str, data: dict):
    """Apply; None while the application service has not yet heard the listing was published (or of the credential
    highlighted)."""
    response = visitor.client.post(apply_path, data={"csrf_token": csrf_token(visitor.get(apply_path)), **data})
    page = response.get_data(as_text=True)
    not_heard_yet = ("No published listing has this id", "Highlight only your own Stint credentials")
    if response.status_code == 400 and any(text in page for text in not_heard_yet):
        return None
    assert response.status_code == 302, text_of(response.get_data(as_text=True))[-800:]
    return response


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
            worker_urls={
                name: f"http://127.0.0.1:{platform.processes[f'{name}-worker'].port}" for name in platform.urls
            },
        )
    )


def token(role: str, name: str, org: str | None = None) -> str:
    sub = f"{role}-{uuid.uuid4().hex[:8]}"
    return mint_token(TEST_SECRET, sub, role, org=org, name=name, email=f"{sub}@example.in")


def test_an_employer_posts_a_listing_a_student_applies_works_and_gets_a_credential(web, platform):
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
            apply_path,
            data={"csrf_token": csrf_token(student.get(apply_path)), "cover_note": "I write.", "answer-0": " "},
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
    assert "Links to your work: not a valid URL." in text_of(bad_link.get_data(as_text=True))
    student.submit(work_path, work_path, {"links": "https://docs.example.in/upi-posts", "hours_spent": "28"})

    # Changes are asked for (feedback is needed for that), and the student sends the work again.
    no_feedback = employer.submit(review_path, f"{review_path}/review", {"decision": "request_changes"}, status=400)
    assert "Say what to change: feedback is required." in text_of(no_feedback.get_data(as_text=True))
    employer.submit(
        review_path, f"{review_path}/review", {"decision": "request_changes", "feedback": "Add a glossary to each post"}
    )
    asked = student.read(application_path)
    assert "Changes requested" in asked and "Add a glossary to each post" in asked
    student.submit(work_path, work_path, {"links": "https://docs.example.in/upi-posts-v2", "hours_spent": "30"})
    employer.submit(
        review_path,
        f"{review_path}/review",
        {
            "decision": "approve",
            "hours_verified": "29",
            "rating": "5",
            "skills_demonstrated": "Writing",
            "feedback": "Great",
        },
    )
    assert "Approved" in student.get(application_path)

    # The credential arrives; its verification page says it is genuine.
    credentials = eventually(lambda: page_with(student, "/student/credentials", "Write five blog"), "it is issued")
    credential_id = re.search(r"/verify/([0-9a-f-]{36})", credentials).group(1)
    verification = student.get(f"/verify/{credential_id}")
    assert "Verified: this credential is genuine" in verification

    # Anyone can upload the credential's JSON file to check it; a tampered copy fails.
    document = requests.get(f"{platform.url('certification')}/credentials/{credential_id}", timeout=10).json()
    anyone = Visitor(web)
    upload = {"credential_file": (io.BytesIO(json.dumps(document).encode()), "credential.json")}
    checked = anyone.submit("/verify", "/verify", upload, status=200)
    assert "Verified: this credential is genuine" in text_of(checked.get_data(as_text=True))
    document["name"] = "Something grander"
    upload = {"credential_file": (io.BytesIO(json.dumps(document).encode()), "credential.json")}
    tampered = anyone.submit("/verify", "/verify", upload, status=200)
    assert "This credential could not be verified." in text_of(tampered.get_data(as_text=True))

    # Applying again, the student highlights the credential; the employer sees it as verified.
    second = employer.submit(
        "/employer/listings/new", "/employer/listings/new", {**fields, "title": "Edit our UPI FAQ"}
    )
    second_id = second.headers["Location"].rsplit("/", 1)[-1]
    employer.submit(second.headers["Location"], f"/employer/listings/{second_id}/publish", {})
    second_apply = f"/student/apply/{second_id}"
    offered = eventually(lambda: page_with(student, second_apply, "Which of your Stint credentials"), "offered")
    assert "Write five blog posts about UPI payments" in text_of(offered)
    highlighted = eventually(
        lambda: applied_when_known(
            student,
            second_apply,
            {"cover_note": "See my last stint", "answer-0": "Linked", "credential_ids": f"urn:uuid:{credential_id}"},
        ),
        "the application service knows the listing and the credential",
    )
    second_application = highlighted.headers["Location"].rsplit("/", 1)[-1]
    seen = employer.read(f"/employer/applications/{second_application}")
    assert "Credentials the applicant highlighted Verified by Stint Write five blog posts about UPI payments" in seen

    # A registrar verifies it in a batch and opens the credit decision; the inbox shows the student's news.
    registrar = Visitor(web, token("university", "Registrar", f"uni-{uuid.uuid4().hex[:6]}"))
    batch = registrar.submit(
        "/university/verify", "/university/verify", {"credential_ids": f"urn:uuid:{credential_id}"}, status=200
    )
    assert "1 of 1 verified" in batch.get_data(as_text=True)
    decide_path = f"/university/credentials/{credential_id}/decision"
    assert "Will your university give credit for this work?" in registrar.read(decide_path)
    undecided = registrar.submit(decide_path, decide_path, {"credits_awarded": "0.5"}, status=400)
    assert "Choose your decision." in text_of(undecided.get_data(as_text=True))
    export = registrar.client.get("/university/decisions.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    eventually(lambda: "Write five blog posts" in student.get("/inbox"), "the student's inbox has news")

    # A registrar who opens the verification page can go on to record credit.
    assert "Record your credit decision" in registrar.read(f"/verify/{credential_id}")
    assert "Record your credit decision" not in student.read(f"/verify/{credential_id}")

    # An admin makes a new signing key: the credential signed before keeps verifying.
    keys_before = admin.get("/admin/keys").count("<code>")
    admin.submit("/admin/keys", "/admin/keys", {})
    assert admin.get("/admin/keys").count("<code>") == keys_before + 1
    assert "Verified: this credential is genuine" in student.read(f"/verify/{credential_id}")

    # The student shows it on a public portfolio (a reserved handle is refused beside its field); anyone sees the page
    # with link-preview tags and LinkedIn's link, never the student's email.
    mine = "/student/portfolio"
    assert '<option value="https://docs.example.in/upi-posts-v2">' in student.get(mine)  # the approved work's link
    reserved = student.submit(mine, mine, {"handle": "admin", "sample-0-title": "", "sample-0-url": ""}, status=400)
    assert re.search(r'id="f-handle-error">.*?kept for Stint', reserved.get_data(as_text=True), re.S)
    handle = f"asha-{uuid.uuid4().hex[:6]}"
    student.submit(
        mine,
        mine,
        {
            "handle": handle,
            "headline": "I write about payments",
            "credential_ids": f"urn:uuid:{credential_id}",
            "sample-0-title": "My blog",
            "sample-0-url": "https://asha.example.in/blog",
            "published": "yes",
        },
    )
    shared = Visitor(web).get(f"/portfolios/{handle}")
    assert '<meta property="og:title" content="Asha Student — portfolio on Stint">' in shared
    assert "Write five blog posts about UPI payments" in shared and "Add to LinkedIn profile" in text_of(shared)
    assert "My blog" in shared and "@example.in" not in shared

    # An admin revokes the credential: its page says so, and so does the student's list; the portfolio drops it.
    admin.submit(
        "/admin/revoke", "/admin/revoke", {"credential_id": f"urn:uuid:{credential_id}", "reason": "Plagiarised"}
    )
    assert "revoked" in admin.read(f"/verify/{credential_id}")
    assert "Revoked Plagiarised" in student.read("/student/credentials")
    assert "Write five blog posts" not in Visitor(web).read(f"/portfolios/{handle}")


def test_a_student_withdraws_reads_the_inbox_and_chooses_how_to_hear(web, platform):
    listing_id, employer = _published_listing(web)
    student = Visitor(web, token("student", "Nila Student"))
    apply_path = f"/student/apply/{listing_id}"
    applied = eventually(
        lambda: applied_when_known(student, apply_path, {"cover_note": "Keen", "answer-0": "Yes"}),
        "the application service knows the listing",
    )
    application_path = applied.headers["Location"]

    asked = student.read(f"{application_path}/withdraw")
    assert "Are you sure you want to withdraw" in asked
    student.submit(f"{application_path}/withdraw", f"{application_path}/withdraw", {"note": "Exams"})
    withdrawn = student.read(application_path)
    assert "Withdrawn" in withdrawn and "Exams" in withdrawn and "Withdraw this application" not in withdrawn

    # The employer's inbox: the header counts what is unread; reading an entry lowers the count.
    page = eventually(lambda: page_with(employer, "/inbox", "Nila Student withdrew"), "the withdrawal is announced")
    assert "New application for Survey 20 shops" in text_of(page)
    unread = int(re.search(r'class="badge">(\d+)', page).group(1))
    assert unread >= 2
    entry = re.search(r'action="(/inbox/[^"]+/read)"', page).group(1)
    employer.submit("/inbox", entry, {})
    after = re.search(r'class="badge">(\d+)', employer.get("/inbox"))
    assert (int(after.group(1)) if after else 0) == unread - 1

    # Notification settings: turning email off sticks.
    student.submit("/account/notifications", "/account/notifications", {"in_app": "on"})
    settings = student.get("/account/notifications")
    assert re.search(r'id="f-in_app" name="in_app" checked', settings)
    assert not re.search(r'id="f-email" name="email" checked', settings)


def test_an_employer_adds_a_webhook_and_reads_its_delivery_log(web):
    org = f"hooks-{uuid.uuid4().hex[:6]}"
    employer = Visitor(web, token("employer", "Hook Owner", org))
    employer.submit(
        "/employer/organisation/register",
        "/employer/organisation/register",
        {"name": "Hook Co", "website": "https://hook.example.in", "registration_id": "U99"},
    )
    short = employer.submit(
        "/webhooks", "/webhooks", {"url": "http://127.0.0.1:9/hook", "secret": "short", "event_types": "*"}, status=400
    )
    assert "The signing secret: " in text_of(short.get_data(as_text=True))
    employer.submit(
        "/webhooks", "/webhooks", {"url": "http://127.0.0.1:9/hook", "secret": "s" * 24, "event_types": "*"}
    )
    listed = employer.get("/webhooks")
    assert "http://127.0.0.1:9/hook" in listed
    hook = re.search(r'href="(/webhooks/[^"/]+)/deliveries"', listed).group(1)
    assert "Delivery log" in employer.read(f"{hook}/deliveries")
    employer.submit("/webhooks", f"{hook}/delete", {})
    assert "You have no webhooks." in employer.read("/webhooks")


def test_an_admin_sees_health_and_grants_the_registrar_role_and_a_registrar_sets_the_policy(web, platform):
    admin = Visitor(web, token("admin", "Admin"))
    health = admin.read("/admin")
    for service in ("Listing", "Application", "Certification", "Notification"):
        assert f"{service} Ready" in health
    # Each worker too, read from its own probes: ready, its consumer polling, and its backlog in numbers.
    assert "Messages behind" in health and "Dead letters" in health
    assert health.count("Ready database ok · broker ok · consumer ok") == 4, health

    email = unique_email("registrar")
    user_id = create_user(platform.keycloak, email, "correct horse battery staple", name="Uma Registrar")
    missing_org = admin.submit("/admin/roles", "/admin/roles", {"user_id": user_id, "role": "university"}, status=400)
    assert "There is a problem" in text_of(missing_org.get_data(as_text=True))
    admin.submit("/admin/roles", "/admin/roles", {"user_id": user_id, "role": "university", "org": "pune-uni"})
    assert platform.keycloak.admin.user(user_id)["attributes"]["role"] == ["university"]

    registrar = Visitor(web, token("university", "Uma Registrar", "pune-uni"))
    refused = registrar.submit(
        "/university/policy", "/university/policy", {"hours_per_credit": "0", "min_hours": "0"}, status=400
    )
    assert "Hours of work per credit: " in text_of(refused.get_data(as_text=True))
    registrar.submit("/university/policy", "/university/policy", {"hours_per_credit": "15", "min_hours": "10"})
    assert "Hours per credit 15" in registrar.read("/university")
    assert "You have recorded no credit decisions yet" in registrar.read("/university")


def _published_listing(web) -> tuple[str, Visitor]:
    """A published listing of a verified organisation, made through the employer's and admin's pages; its id and
    its employer."""
    org = f"org-{uuid.uuid4().hex[:6]}"
    employer = Visitor(web, token("employer", "Lead", org))
    admin = Visitor(web, token("admin", "Admin"))
    employer.submit(
        "/employer/organisation/register",
        "/employer/organisation/register",
        {"name": f"Org {org}", "website": "https://org.example.in", "registration_id": "U1"},
    )
    admin.submit("/admin/organisations", f"/admin/organisations/{org}/verify", {})
    fields = {
        "title": "Survey 20 shops",
        "summary": "Ask shop owners three questions",
        "brief": "Visit or call 20 shops.",
        "deliverables": "A spreadsheet",
        "skills": "Research",
        "category": "data",
        "duration_days": "7",
        "effort_hours": "10",
        "stipend_amount": "2000",
        "seats": "3",
        "apply_by": (date.today() + timedelta(days=5)).isoformat(),
        "screening_questions": "Do you speak Marathi?",
    }
    listing_id = employer.submit("/employer/listings/new", "/employer/listings/new", fields).headers["Location"]
    listing_id = listing_id.rsplit("/", 1)[-1]
    employer.submit(f"/employer/listings/{listing_id}", f"/employer/listings/{listing_id}/publish", {})
    return listing_id, employer


def _approved_application(web, student: Visitor, hours: str = "10") -> tuple[str, Visitor]:
    """A student's application whose work the employer approved (through the pages); its id and the employer."""
    listing_id, employer = _published_listing(web)
    apply_path = f"/student/apply/{listing_id}"
    applied = eventually(
        lambda: applied_when_known(student, apply_path, {"cover_note": "Keen", "answer-0": "Yes"}),
        "the application service knows the listing",
    )
    application_id = applied.headers["Location"].rsplit("/", 1)[-1]
    review_path = f"/employer/applications/{application_id}"
    employer.submit(review_path, f"{review_path}/accept", {})
    work_path = f"/student/applications/{application_id}/work"
    student.submit(work_path, work_path, {"links": "https://sheets.example.in/shops", "hours_spent": hours})
    employer.submit(
        review_path,
        f"{review_path}/review",
        {"decision": "approve", "hours_verified": hours, "rating": "4", "feedback": "Thorough"},
    )
    return application_id, employer


def test_a_registrar_registers_the_university_a_student_asks_for_credit_and_the_registrar_decides(web):
    university_id = f"uni-{uuid.uuid4().hex[:6]}"
    registrar = Visitor(web, token("university", "Meera Registrar", university_id))
    admin = Visitor(web, token("admin", "Admin"))
    student = Visitor(web, token("student", "Ravi Student"))
    aishe = f"U-{uuid.uuid4().int % 1_000_000:06d}"

    # The registrar registers the university (a malformed AISHE code is refused beside its field); it waits.
    assert "Your university is not registered on Stint yet" in registrar.read("/university")
    bad_code = registrar.submit(
        "/university/profile",
        "/university/profile",
        {"name": "Deccan University", "aishe_code": "12345", "website": "https://deccan.example.in"},
        status=400,
    )
    assert re.search(
        r'id="f-aishe_code-error">.*?Its AISHE code: an AISHE code looks like U-0001', bad_code.get_data(as_text=True)
    )
    registrar.submit(
        "/university/profile",
        "/university/profile",
        {"name": "Deccan University", "aishe_code": aishe, "website": "https://deccan.example.in"},
    )
    assert "Waiting for verification" in registrar.read("/university")
    assert "Deccan University is verified" not in admin.read("/admin/universities?status=verified")

    # An admin verifies it from the queue of universities waiting, next to the organisations'.
    assert "Universities waiting for verification" in admin.read("/admin")
    assert "Deccan University" in admin.read("/admin/universities")
    admin.submit("/admin/universities", f"/admin/universities/{university_id}/verify", {})
    assert "Deccan University is verified" in admin.read("/admin/universities")
    assert "Verified" in registrar.read("/university/profile")

    # The student's approved work becomes a credential; they ask the university for credit from it.
    _approved_application(web, student)
    credentials = eventually(lambda: page_with(student, "/student/credentials", "Survey 20 shops"), "it is issued")
    credential_id = re.search(r"/student/credentials/([0-9a-f-]{36})/credit", credentials).group(1)
    ask_path = f"/student/credentials/{credential_id}/credit"
    assert "Deccan University" in student.read(ask_path)
    bad_apaar = student.submit(ask_path, ask_path, {"university_id": university_id, "apaar_id": "1234"}, status=400)
    assert "Your APAAR id: an APAAR id is 12 digits." in text_of(bad_apaar.get_data(as_text=True))
    student.submit(
        ask_path, ask_path, {"university_id": university_id, "apaar_id": "1234 5678 9012", "note": "B.Com year 2"}
    )
    asked = student.read("/student/credit-requests")
    assert "Survey 20 shops Waiting for a decision University Deccan University" in asked
    again = student.submit(ask_path, ask_path, {"university_id": university_id}, status=400)
    assert "You have already asked this university for credit for this credential" in text_of(
        again.get_data(as_text=True)
    )

    # The registrar finds it waiting on the desk, verifies and decides in one place.
    desk = registrar.read("/university")
    assert "Ravi Student: Survey 20 shops" in desk and "123456789012" in desk and "B.Com year 2" in desk
    decide_path = f"/university/credentials/{credential_id}/decision"
    page = registrar.read(decide_path)
    assert "What Stint checked" in page and "Passed:" in page and "Failed:" not in page
    assert "The student's note B.Com year 2" in page
    registrar.submit(
        decide_path, decide_path, {"decision": "accepted", "credits_awarded": "0.3", "course_code": "CS-1"}
    )
    assert "No student is waiting for a decision" in registrar.read("/university")
    assert "Credit given" in student.read("/student/credit-requests")

    # Deciding twice is refused in a sentence.
    twice = registrar.submit(decide_path, decide_path, {"decision": "rejected"}, status=400)
    assert "Your university has already decided on this request." in text_of(twice.get_data(as_text=True))


def test_an_admin_revokes_a_retired_signing_key_but_not_the_current_one(web):
    admin = Visitor(web, token("admin", "Admin"))

    def rotated() -> str:
        response = admin.submit("/admin/keys", "/admin/keys", {})
        return re.search(r"new key (key-\d+)", admin.read(response.headers["Location"])).group(1)

    current = rotated()
    revoke_path = f"/admin/keys/{current}/revoke"
    assert "cannot be revoked: make a new signing key first" in admin.read(revoke_path)
    refused = admin.submit(revoke_path, revoke_path, {"reason": "Found in a backup"}, status=400)
    assert f"The key {current} signs credentials now, so it cannot be revoked." in text_of(
        refused.get_data(as_text=True)
    )

    rotated()  # the refused key now retired, having signed nothing

    def revoked():
        response = admin.client.post(
            revoke_path, data={"csrf_token": csrf_token(admin.get(revoke_path)), "reason": "Found in a backup"}
        )
        if response.status_code == 400:
            assert "Try again in" in text_of(response.get_data(as_text=True))  # it was current moments ago
            return None
        assert response.status_code == 302
        return response

    eventually(revoked, "the retired key can be revoked")
    keys = admin.read("/admin/keys")
    assert f"{current} is revoked" in keys and f"Revoke {current} " not in keys


def test_an_employer_records_the_stipend_and_the_student_disputes_then_confirms_it(web):
    student = Visitor(web, token("student", "Kavya Student"))
    application_id, employer = _approved_application(web, student)
    employer_path = f"/employer/applications/{application_id}"
    student_path = f"/student/applications/{application_id}"
    pay_path = f"{employer_path}/payment"
    assert "The employer has not recorded paying your stipend yet" in student.read(student_path)

    # A day in the future is refused beside its field; then the payment is recorded.
    assert "Record the payment" in employer.read(employer_path)
    tomorrow = (today_in_india() + timedelta(days=2)).isoformat()
    future = employer.submit(
        employer_path, pay_path, {"amount": "2,000", "paid_on": tomorrow, "reference": "UPI-1"}, status=400
    )
    assert re.search(r'id="f-paid_on-error">.*?The day paid is in the future', future.get_data(as_text=True), re.S)
    today = today_in_india().isoformat()
    employer.submit(employer_path, pay_path, {"amount": "1,500", "paid_on": today, "reference": "UPI-1"})
    recorded = student.read(student_path)
    assert "Your stipend Paid, waiting for the student Amount paid ₹1,500" in recorded and "UPI-1" in recorded

    # The student disputes it (a reason is needed), the employer sees why and corrects it; the student confirms.
    dispute_path = f"{student_path}/payment/dispute"
    no_reason = student.submit(dispute_path, dispute_path, {"reason": ""}, status=400)
    assert "There is a problem" in text_of(no_reason.get_data(as_text=True))
    student.submit(dispute_path, dispute_path, {"reason": "The listing says 2,000"})
    assert "Disputed" in student.read(student_path)
    seen = employer.read(employer_path)
    assert "The listing says 2,000" in seen and "Correct the payment" in seen
    employer.submit(employer_path, pay_path, {"amount": "2000", "paid_on": today, "reference": "UPI-2"})
    assert "(corrected 1 time)" in student.read(student_path)
    student.submit(student_path, f"{student_path}/payment/confirm", {})
    confirmed = employer.read(employer_path)
    assert "Paid and confirmed" in confirmed and "Record the payment" not in confirmed

    # Confirming twice is refused in a sentence on the application's page.
    twice = student.submit(student_path, f"{student_path}/payment/confirm", {}, status=400)
    assert "You already confirmed this payment." in text_of(twice.get_data(as_text=True))


def test_an_employer_recommends_approved_work_once_and_everyone_sees_it_verified(web):
    student = Visitor(web, token("student", "Ira Student"))
    application_id, employer = _approved_application(web, student)
    employer_path = f"/employer/applications/{application_id}"
    endorse_path = f"{employer_path}/endorsement"
    assert "Recommend the student" in employer.read(employer_path)

    # An empty recommendation is refused beside its field; a real one is signed once the credential is issued.
    empty = employer.submit(employer_path, endorse_path, {"comment": "  "}, status=400)
    assert 'id="f-comment-error"' in empty.get_data(as_text=True)

    def endorsed():
        comment = "Ira called all 20 shops & wrote it up."
        form = {"csrf_token": csrf_token(employer.get(employer_path)), "comment": comment}
        return employer.client.post(endorse_path, data=form).status_code == 302

    eventually(endorsed, "the credential is issued and the recommendation signed")
    written = employer.read(employer_path)
    assert "Your recommendation Signed by" in written and "Sign and publish" not in written

    # The student's credentials and the public verification page show it, with its signature verified.
    credentials = eventually(lambda: page_with(student, "/student/credentials", "Recommended by"), "it shows")
    assert "Ira called all 20 shops &amp; wrote it up." in credentials
    credential_id = re.search(r"/verify/([0-9a-f-]{36})", credentials).group(1)
    verification = Visitor(web).read(f"/verify/{credential_id}")
    assert "Recommended by Org org-" in verification and "Signature verified" in verification
    eventually(lambda: "endorsed your work" in student.get("/inbox"), "the student is told")
