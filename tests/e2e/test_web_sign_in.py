"""The web as people use it, over HTTP against the running platform: signing in through Keycloak's own pages
(authorization code + PKCE), choosing a role, registering an organisation, applying, signing out everywhere,
and the protections every page has (CSRF, Content-Security-Policy, the session cookie)."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from shared.auth import mint_token
from tests.conftest import TEST_SECRET
from tests.support.keycloak import Page, _BrowserSession, create_user, unique_email
from tests.support.samples import listing_body
from tests.support.web_pages import csrf_token, text_of

PASSWORD = "correct horse battery staple"
WAIT_SECONDS = 30


class Person:
    """Someone with a browser (cookies, redirects followed) on the web."""

    def __init__(self, platform):
        self.web = platform.web_url
        self.kc = platform.keycloak
        self.http = _BrowserSession()

    def sign_in(self, email: str, password: str = PASSWORD, path: str = "/auth/sign-in") -> requests.Response:
        """Follow the web's sign-in link to Keycloak, type email and password, and land back on the web."""
        login = self.http.get(self.web + path, timeout=30)
        assert login.url.startswith(self.kc.url), login.url  # Keycloak's own page, not the web's
        form = Page.of(login).form("kc-form-login")
        landed = self.http.post(form.action, data={**form.fields, "username": email, "password": password}, timeout=30)
        assert landed.url.startswith(self.web), landed.url
        return landed

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.web + path, timeout=30)

    def post_form(self, page_path: str, action: str, data: dict, **kwargs) -> requests.Response:
        """Fill in the form on `page_path` (with its CSRF token) and send it to `action`."""
        token = csrf_token(self.get(page_path).text)
        return self.http.post(self.web + action, data={"csrf_token": token, **data}, timeout=30, **kwargs)


def published_listing(platform, title: str, **fields) -> str:
    """A published listing of a verified organisation, set up through the listing API (as an employer and an admin
    would with `make token`); its id once the application service has heard of it."""
    org = f"web-{uuid.uuid4().hex[:6]}"
    employer = {"Authorization": "Bearer " + mint_token(TEST_SECRET, f"emp-{org}", "employer", org=org, name="E")}
    admin = {"Authorization": "Bearer " + mint_token(TEST_SECRET, "admin-web", "admin", name="A")}
    listing_url = platform.url("listing")
    profile = {"name": "Sahyadri Foods", "website": "https://sahyadri.example.in", "registration_id": "U1"}
    assert requests.put(f"{listing_url}/orgs/me", json=profile, headers=employer, timeout=10).status_code == 200
    assert requests.post(f"{listing_url}/orgs/{org}/verify", headers=admin, timeout=10).status_code == 200
    body = listing_body(title=title, **fields)
    created = requests.post(f"{listing_url}/listings", json=body, headers=employer, timeout=10)
    assert created.status_code == 201, created.text
    listing_id = created.json()["id"]
    published = requests.post(f"{listing_url}/listings/{listing_id}/publish", headers=employer, timeout=10)
    assert published.status_code == 200, published.text
    return listing_id


def apply_when_known(person: Person, listing_id: str, data: dict) -> requests.Response:
    """Apply through the web; the application service learns of a published listing through its events, so until
    it has, the page says no published listing has this id: try again then, as a person would."""
    path = f"/student/apply/{listing_id}"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = person.post_form(path, path, data)
        if "No published listing has this id" not in response.text or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


def test_a_student_signs_in_through_keycloak_sees_their_name_applies_and_finds_the_application(platform):
    email = unique_email("asha")
    create_user(platform.keycloak, email, PASSWORD, role="student", name="Asha Kulkarni")
    listing_id = published_listing(platform, "Tag 300 product photos", screening_questions=["Which tools do you use?"])
    asha = Person(platform)

    landed = asha.sign_in(email)

    assert landed.url == platform.web_url + "/student"
    assert "Asha Kulkarni" in landed.text and "My applications" in landed.text
    applied = apply_when_known(
        asha,
        listing_id,
        {"cover_note": "I tag photos for my college fest site.", "answer-0": "Lightroom and a spreadsheet"},
    )
    assert "Your application to “Tag 300 product photos” has been sent." in text_of(applied.text)
    mine = text_of(asha.get("/student").text)
    assert "Tag 300 product photos" in mine and "Applied" in mine


def test_an_api_refusal_is_shown_as_a_sentence_next_to_the_field(platform):
    email = unique_email("ravi")
    create_user(platform.keycloak, email, PASSWORD, role="student", name="Ravi Iyer")
    listing_id = published_listing(platform, "Summarise 40 customer interviews")
    ravi = Person(platform)
    ravi.sign_in(email)

    refused = apply_when_known(ravi, listing_id, {"cover_note": ""})

    assert refused.status_code == 400
    assert "There is a problem" in refused.text
    beside_field = re.search(r'<p class="field-error" id="f-cover_note-error">(.*?)</p>', refused.text, re.S)
    assert beside_field and "Enter why you are a good fit (your cover note)." in text_of(beside_field.group(1))
    assert '<a href="#f-cover_note">' in refused.text  # the summary links to the field


def test_a_new_person_chooses_student_and_the_refreshed_token_carries_the_role(platform):
    email = unique_email("meera")
    create_user(platform.keycloak, email, PASSWORD, name="Meera Nair")
    meera = Person(platform)

    landed = meera.sign_in(email)
    assert landed.url == platform.web_url + "/welcome"
    assert "Are you a student or an employer?" in landed.text

    chosen = meera.post_form("/welcome", "/welcome", {"role": "student"})

    assert chosen.url == platform.web_url + "/student"
    assert "Welcome to Stint" in chosen.text
    assert meera.get("/welcome").url == platform.web_url + "/student"  # asked once


def test_a_new_employer_registers_their_organisation_and_waits_for_verification(platform):
    email = unique_email("farhan")
    create_user(platform.keycloak, email, PASSWORD, name="Farhan Ali")
    farhan = Person(platform)
    farhan.sign_in(email)

    onboarded = farhan.post_form("/welcome", "/welcome", {"role": "employer"})
    assert onboarded.url == platform.web_url + "/employer/organisation/register"
    refused = farhan.post_form(
        "/employer/organisation/register",
        "/employer/organisation/register",
        {"name": "Chai Labs", "website": "not a website", "registration_id": "U7"},
    )
    assert refused.status_code == 400
    assert "Your organisation's website: not a valid URL." in text_of(refused.text)
    registered = farhan.post_form(
        "/employer/organisation/register",
        "/employer/organisation/register",
        {"name": "Chai Labs", "website": "https://chailabs.example.in", "registration_id": "U72900KA2021PTC1"},
    )

    assert registered.url == platform.web_url + "/employer"
    page = text_of(registered.text)
    assert "Chai Labs" in page and "waiting for verification" in page


def test_signing_out_ends_the_session_here_and_at_keycloak(platform):
    email = unique_email("kiran")
    create_user(platform.keycloak, email, PASSWORD, role="student", name="Kiran Rao")
    kiran = Person(platform)
    kiran.sign_in(email)

    home = kiran.post_form("/student", "/auth/sign-out", {})

    assert home.url == platform.web_url + "/"
    assert "Sign in" in home.text and "Kiran Rao" not in home.text
    assert kiran.get("/student").url.startswith(platform.keycloak.url)  # sent to sign in again: no session left


def test_a_form_sent_without_its_csrf_token_is_refused(platform):
    email = unique_email("tara")
    create_user(platform.keycloak, email, PASSWORD, role="student", name="Tara Das")
    tara = Person(platform)
    tara.sign_in(email)

    refused = tara.http.post(platform.web_url + "/auth/sign-out", data={}, timeout=30)

    assert refused.status_code == 400
    assert "was not sent from Stint" in text_of(refused.text)
    assert "Tara Das" in tara.get("/student").text  # still signed in


@pytest.mark.parametrize("path", ["/", "/verify", "/no-such-page"])
def test_every_page_carries_the_security_headers(platform, path):
    response = requests.get(platform.web_url + path, timeout=30)

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert f"form-action 'self' {platform.keycloak.url}" in policy
    assert "'unsafe-inline'" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_session_cookie_holds_an_opaque_id_never_a_token(platform):
    email = unique_email("dev")
    create_user(platform.keycloak, email, PASSWORD, role="student", name="Dev Patel")
    dev = Person(platform)
    dev.sign_in(email)

    web_cookies = [cookie for cookie in dev.http.cookies if cookie.port is None and cookie.name == "stint_session"]

    assert len(web_cookies) == 1
    cookie = web_cookies[0]
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert len(cookie.value) < 60 and "." not in cookie.value  # no JWT (header.payload.signature) in the browser


def test_create_an_account_opens_keycloaks_registration_form(platform):
    page = requests.get(platform.web_url + "/auth/sign-up", timeout=30)

    assert page.url.startswith(platform.keycloak.url)
    assert "kc-register-form" in page.text


def test_a_colleague_accepts_an_invitation_and_joins_the_organisation(platform):
    owner_email, colleague_email = unique_email("owner"), unique_email("colleague")
    create_user(platform.keycloak, owner_email, PASSWORD, name="Owner Shah")
    create_user(platform.keycloak, colleague_email, PASSWORD, name="Neha Colleague")
    owner = Person(platform)
    owner.sign_in(owner_email)
    owner.post_form("/welcome", "/welcome", {"role": "employer"})
    owner.post_form(
        "/employer/organisation/register",
        "/employer/organisation/register",
        {"name": "Masala Media", "website": "https://masala.example.in", "registration_id": "U55"},
    )

    invited = owner.post_form(
        "/employer/organisation", "/employer/organisation/invitations", {"email": colleague_email}
    )
    link = re.search(r'value="(http://[^"]+/invitations/[^"]+)"', invited.text).group(1)
    assert colleague_email in text_of(owner.get("/employer/organisation").text)

    colleague = Person(platform)
    colleague.sign_in(colleague_email)
    path = link.removeprefix(platform.web_url)
    joined = colleague.post_form(path, path, {})

    assert joined.url == platform.web_url + "/employer"
    page = text_of(joined.text)
    assert "You have joined the organisation." in page and "Masala Media" in page
