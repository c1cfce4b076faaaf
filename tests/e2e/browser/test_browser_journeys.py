"""The web in a real browser (Chromium), one story told in order: an employer signs up and posts a project, a
student signs up and applies, the work goes back and forth until it is approved, the student holds the credential,
a registrar checks it and decides credit, and a second student does the whole sign-in and application by keyboard.
Every step asserts what the person sees on the page. axe-core checks each main page on the way; the last test says
whether any had a serious or critical violation. Each test builds on the ones before it (module state `story`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from shared.auth import mint_token
from tests.conftest import TEST_SECRET
from tests.support.keycloak import create_user, unique_email, verification_link

PASSWORD = "correct horse battery staple"
CODE = secrets.token_hex(2).upper()
TITLE = f"Explain UPI in five blog posts ({CODE})"
ORG = f"Chai Labs {CODE}"
SITE = "https://unipune.example.in"
# The main pages axe-core must see. Keycloak's own pages (registration, sign-in) are checked too but only reported:
# they are Keycloak's theme, not Stint's templates.
MAIN_PAGES = {
    "home",
    "listing",
    "apply",
    "my applications",
    "my credentials",
    "employer home",
    "organisation",
    "applicants",
    "review",
    "university home",
    "admin home",
    "verification",
}


@dataclass
class Story:
    """What the people in the story have done so far, for the next chapter."""

    done: set[str] = field(default_factory=set)
    listing_path: str = ""
    application_path: str = ""
    review_path: str = ""
    credential_path: str = ""
    credential_id: str = ""
    share_link: str = ""
    student_email: str = ""
    registrar_id: str = ""
    university: str = ""

    def needs(self, *chapters: str) -> None:
        """Skip, saying why, when an earlier chapter this one builds on did not finish."""
        missing = [chapter for chapter in chapters if chapter not in self.done]
        if missing:
            pytest.skip(f"an earlier chapter did not finish: {', '.join(missing)}")


@pytest.fixture(scope="module")
def story():
    """The story shared by the tests of this module, in order."""
    return Story()


def sign_up(browser, platform, who: str, first: str, last: str) -> str:
    """Create an account on Keycloak's page, then open the link in the verification mail, as a new person does;
    return the email address."""
    email = unique_email(who)
    browser.become(who)
    browser.open("/")
    browser.click("Create an account")
    assert browser.url.startswith(platform.keycloak.url), browser.url  # Keycloak's own page
    browser.see("Register")
    browser.check_accessibility("Keycloak: registration", ours=False)
    browser.fill("Email", email)
    browser.fill("First name", first)
    browser.fill("Last name", last)
    browser.fill("Password", PASSWORD)
    browser.fill("Confirm password", PASSWORD)
    browser.click("Register")
    browser.see("verify your email")
    browser.open(verification_link(platform.mail, email))
    for _ in range(3):  # Keycloak may ask to confirm, then to go back to the application
        if browser.url.startswith(platform.web_url):
            break
        for words in ("Click here to proceed", "Back to Application", "« Back to Application"):
            if browser.has_link(words):
                browser.click(words)
                break
    assert browser.url.startswith(platform.web_url), f"still on {browser.url}: {browser.text()[:500]}"
    return email


def sign_in(browser, platform, who: str, email: str) -> None:
    """Sign in from the web's header, typing email and password on Keycloak's page."""
    browser.become(who)
    browser.open("/")
    browser.click("Sign in")
    assert browser.url.startswith(platform.keycloak.url), browser.url
    browser.check_accessibility("Keycloak: sign in", ours=False)
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.click("Sign In")
    assert browser.url.startswith(platform.web_url), f"still on {browser.url}: {browser.text()[:500]}"


def bearer(role: str, sub: str, org: str | None = None, name: str = "", email: str = "") -> dict:
    """The Authorization header of a token for one of the story's people (for steps the web has no page for)."""
    token = mint_token(TEST_SECRET, sub, role, org=org, name=name, email=email or f"{sub}@example.in")
    return {"Authorization": f"Bearer {token}"}


def apply_by_date() -> str:
    """Ten days from now, typed the way a US-English date field takes it (mm/dd/yyyy, digits only)."""
    return f"{date.today() + timedelta(days=10):%m%d%Y}"


def test_an_employer_signs_up_registers_the_organisation_an_admin_verifies_it_and_a_listing_is_published(
    browser, platform, story
):
    sign_up(browser, platform, "employer", "Priya", "Sharma")
    browser.see("Are you a student or an employer?")
    browser.check_accessibility("choose a role")
    browser.choose("I am an employer")
    browser.click("Continue")
    browser.see("Register your organisation")
    browser.check_accessibility("register the organisation")
    browser.fill("What is your organisation's name?", ORG)
    browser.fill("What is your organisation's website?", "https://chailabs.example.in")
    browser.fill("What is its company registration number?", "U72900KA2021PTC1")
    browser.click("Register my organisation")
    browser.see("Your organisation is registered", "waiting for verification", ORG)
    browser.click("Organisation")
    browser.see(ORG)
    browser.check_accessibility("organisation")

    admin_email = unique_email("admin")
    create_user(platform.keycloak, admin_email, PASSWORD, role="admin", name="Anil Admin")
    sign_in(browser, platform, "admin", admin_email)
    browser.see("Admin", "Health of the services", "Listing Ready")
    browser.check_accessibility("admin home")
    browser.screenshot("admin-home")
    browser.click("Organisations waiting for verification")
    browser.see(ORG, "U72900KA2021PTC1")
    browser.check_accessibility("organisations waiting")
    browser.click(f"Verify {ORG}")
    browser.see(f"{ORG} is verified and can publish listings.")

    browser.become("employer")
    browser.open("/")
    browser.click("Listings")
    browser.see("Your listings", "You have no listings yet")
    assert "waiting for verification" not in browser.text()
    browser.click("Write a new listing")
    browser.check_accessibility("listing form")
    browser.fill("What is the project called?", TITLE)
    browser.fill("Sum it up in a sentence or two", "Plain-language posts for people paying by UPI for the first time")
    browser.fill("The brief: what should the student do, and how?", "Research how UPI works.\n\nWrite five posts.")
    browser.fill("What will the student deliver?", "Five posts of 800 words\nA list of sources")
    browser.fill("Which skills does it need?", "Writing, Research")
    browser.pick("Which work domain is it?", "Content writing and marketing")
    browser.fill("How many days does the student have?", "14")
    browser.fill("About how many hours of work is it?", "30")
    browser.fill("What will you pay for the whole project, in rupees?", "6000")
    browser.fill("How many students will you take?", "2")
    browser.fill("What is the last day to apply?", apply_by_date())
    browser.fill("Questions for applicants (optional)", "Link one piece of your writing")
    browser.click("Save as a draft")
    browser.see("Your draft is saved", TITLE, "Draft", "2 of 2")
    browser.click("Publish this listing")
    browser.see("Your listing is published.", "Published")
    browser.check_accessibility("employer listing")
    story.listing_path = browser.url.removeprefix(platform.web_url)
    browser.click("Back to your listings")
    browser.see(TITLE, "Published", "2 of 2")
    browser.check_accessibility("employer home")
    browser.screenshot("employer-listings")
    story.done.add("published")

    browser.become("visitor")  # anyone, signed in nowhere
    browser.open("/")
    browser.see("Find a paid micro-internship", TITLE)
    browser.screenshot("anyone-home")


def test_a_student_signs_up_confirms_the_email_searches_with_a_filter_and_applies(browser, platform, story):
    story.needs("published")
    story.student_email = sign_up(browser, platform, "student", "Asha", "Kulkarni")
    browser.see("Are you a student or an employer?")
    browser.choose("I am a student")
    browser.click("Continue")
    browser.see("Welcome to Stint", "My applications", "Asha Kulkarni", "You have no applications yet")

    browser.click("Find projects")
    browser.fill("What kind of project are you looking for?", f"UPI {CODE}")
    browser.click("Filter the results", navigates=False)
    browser.pick("Work domain", "Content writing and marketing")
    browser.fill("Lowest stipend, in rupees", "5000")
    browser.click("Search")
    browser.see("Matching projects", TITLE, ORG, "₹6,000")
    browser.check_accessibility("home")
    browser.click(TITLE)
    browser.see(TITLE, "₹6,000 for the whole project", "2 of 2", "Link one piece of your writing")
    browser.check_accessibility("listing")
    browser.click("Apply for this project")
    browser.see(f"Apply for “{TITLE}”")
    browser.check_accessibility("apply")
    browser.screenshot("student-apply")
    browser.fill("Why are you a good fit for this project?", "I write a weekly blog on money for my college.")
    browser.fill("Link one piece of your writing", "https://asha.example.in/blog/upi")
    browser.click("Send my application")
    for _ in range(
        60
    ):  # the application service hears of a new listing through its events: try again, as a person would
        if "No published listing has this id" not in browser.text():
            break
        browser.click("Send my application")
    browser.see(f"Your application to “{TITLE}” has been sent.", "Applied")
    story.application_path = browser.url.removeprefix(platform.web_url)

    browser.click("My applications")
    browser.see("My applications", TITLE, "Applied")
    browser.check_accessibility("my applications")
    browser.screenshot("student-applications")
    story.done.add("applied")


def test_the_employer_accepts_asks_for_changes_and_approves_the_resubmitted_work(browser, platform, story):
    story.needs("applied")
    browser.become("employer")
    browser.open(story.listing_path)
    browser.click("See the applicants")
    browser.see("Applicants", "Asha Kulkarni", "Applied")
    browser.check_accessibility("applicants")
    browser.click("Asha Kulkarni")
    browser.see("I write a weekly blog on money", "https://asha.example.in/blog/upi")
    story.review_path = browser.url.removeprefix(platform.web_url)
    browser.click("Accept into a seat")
    browser.see("Asha Kulkarni is accepted.", "Accepted")

    browser.become("student")
    browser.open(story.application_path)
    browser.see("Accepted")
    browser.click("Send your work")
    browser.check_accessibility("submit work")
    browser.fill("Where can the employer see your work?", "https://docs.example.in/upi-posts")
    browser.fill("How many hours did you spend?", "28")
    browser.click("Send for review")
    browser.see("Your work has been sent for review.", "Work submitted")

    browser.become("employer")
    browser.open(story.review_path)
    browser.see("Review the work", "https://docs.example.in/upi-posts", "28 hours spent")
    browser.check_accessibility("review")
    browser.screenshot("employer-review")
    browser.choose("Ask for changes")
    browser.fill("Your feedback to the student", "Add a glossary to each post")
    browser.click("Send the review")
    browser.see("The work is sent back for changes.", "Changes requested")

    browser.become("student")
    browser.open(story.application_path)
    browser.see("Changes requested", "Changes asked for", "Add a glossary to each post")
    browser.check_accessibility("my application")
    browser.click("Send the changed work")
    browser.fill("Where can the employer see your work?", "https://docs.example.in/upi-posts-v2")
    browser.fill("How many hours did you spend?", "31")
    browser.click("Send for review")
    browser.see("Your work has been sent for review.")

    browser.become("employer")
    browser.open(story.review_path)
    browser.see("Round 2", "https://docs.example.in/upi-posts-v2")
    browser.choose("Approve the work")
    browser.fill("How many hours of work do you verify? (to approve)", "30")
    browser.fill("How would you rate the work, from 1 to 5? (to approve)", "5")
    browser.fill("Which skills did the student show? (optional)", "Writing, Research")
    browser.fill("Your feedback to the student", "Clear and well sourced. Thank you!")
    browser.click("Send the review")
    browser.see("The work is approved: the student's credential is on its way.", "Approved")

    browser.become("student")
    browser.open(story.application_path)
    browser.see("Your work was approved", "5 out of 5", "Clear and well sourced")
    browser.click("Inbox")
    browser.see("Inbox", TITLE)
    browser.check_accessibility("inbox")
    story.done.add("approved")


def test_the_student_sees_the_credential_and_opens_its_verification_link(browser, platform, story):
    story.needs("approved")
    browser.become("student")
    browser.see_after_reloading("/student/credentials", "My credentials", TITLE, ORG, "30 hours")
    browser.check_accessibility("my credentials")
    browser.screenshot("student-credentials")
    story.share_link = browser.field("Link to share").get_attribute("value")
    browser.click("See how it verifies")
    browser.see("Verified", "Asha Kulkarni", ORG, "Passed")
    story.credential_path = browser.url.removeprefix(platform.web_url)
    story.credential_id = "urn:uuid:" + story.credential_path.rsplit("/", 1)[-1]
    browser.check_accessibility("verification")
    browser.screenshot("verification")

    browser.become("a university")  # anyone the student sends the link to, signed in nowhere
    browser.open(story.share_link)
    browser.see("Asha Kulkarni", "Verified")
    story.done.add("credential")


def test_the_student_adds_the_credential_to_linkedin(browser, platform, story):
    story.needs("credential")
    browser.become("student")
    browser.open("/student/credentials")
    target = browser.link_matching(r"Add to LinkedIn profile")
    assert target is not None, "My credentials has no “Add to LinkedIn profile” link"
    # LinkedIn's own page cannot be reached from here (nor is it ours to test): the link is read, never followed,
    # and must lead to LinkedIn's certification form with this credential filled in.
    assert target.startswith("https://www.linkedin.com/profile/add?"), target
    fields = parse_qs(urlsplit(target).query)
    assert fields["startTask"] == ["CERTIFICATION_NAME"], target
    assert fields["name"] == [TITLE] and fields["organizationName"] == [ORG], target
    assert fields["certUrl"] == [story.share_link], target
    assert fields["certId"] == [story.credential_id.removeprefix("urn:uuid:")], target
    assert fields["issueYear"][0].isdigit() and 1 <= int(fields["issueMonth"][0]) <= 12, target


def test_an_admin_makes_someone_a_registrar_who_verifies_the_credential_and_opens_its_credit_decision(
    browser, platform, story
):
    story.needs("credential")
    email, university = unique_email("registrar"), f"pune-uni-{CODE.lower()}"
    user_id = create_user(platform.keycloak, email, PASSWORD, name="Uma Deshpande")  # the admin reads the id there

    browser.become("admin")
    browser.open("/admin")
    browser.click("Give someone a role")
    browser.check_accessibility("give a role")
    browser.fill("What is the person's user id?", user_id)
    browser.choose("University registrar")
    browser.fill("Which university or organisation id?", university)
    browser.click("Give the role")
    browser.see("The university role is granted.")

    sign_in(browser, platform, "registrar", email)
    browser.see("Credit desk", "Hours per credit")
    browser.check_accessibility("university home")
    story.registrar_id, story.university = user_id, university
    browser.click("Verify many")
    browser.fill("Or paste their verification links or ids", story.share_link)
    browser.click("Check the credentials")
    browser.see("1 of 1 verified")
    browser.check_accessibility("verify many")
    browser.click("Decide credit")
    browser.see("Will your university give credit for this work?", "Asha Kulkarni", ORG, "Hours verified 30")
    browser.check_accessibility("credit decision")

    browser.click("Verify a credential")  # one credential, its link pasted: the same decision is a click away
    browser.fill("What is the credential's link or id?", story.share_link)
    browser.click("Check the credential")
    browser.see("Verified", "Asha Kulkarni")
    browser.click("Record your credit decision")
    browser.see("Will your university give credit for this work?", "Asha Kulkarni")
    story.done.add("registrar")


def test_the_registrar_accepts_the_students_credit_request(browser, platform, story):
    """The registrar registers the university, an admin verifies it, the student asks it for credit, the request
    reaches the registrar, who accepts it. While the web has no pages for the first three steps (no "Ask a
    university for credit" on My credentials), they go through the certification API as `make demo` does."""
    story.needs("registrar")
    university = f"Pune University {CODE}"
    browser.become("student")
    browser.open("/student/credentials")
    if browser.has_link(r"^Ask a university for credit"):
        ask_for_credit_on_the_web(browser, university)
    else:
        ask_for_credit_through_the_api(platform, story, university)

    browser.become("registrar")  # the request reaches the registrar's inbox
    asks = f"Asha Kulkarni asks {university} for academic credit for {TITLE}."
    browser.see_after_reloading("/inbox", f"Credit request for {TITLE}", asks)
    browser.open(story.credential_path)
    browser.click("Record your credit decision")
    browser.see("Will your university give credit for this work?", "Asha Kulkarni")
    browser.click("Record the decision")  # nothing chosen: the page says what is missing, beside the question
    browser.see("There is a problem", "Choose your decision.")
    browser.choose("Yes, accept it for credit")
    browser.fill("How many credits do you award?", "1")
    browser.fill("Which course code are they for? (optional)", "CS-391")
    browser.click("Record the decision")
    browser.see("Your decision is recorded.", "Credit desk", "Asha Kulkarni", TITLE, "Accepted")
    browser.screenshot("university-credit-desk")
    story.done.add("credit")


def ask_for_credit_on_the_web(browser, university: str) -> None:
    """The registrar registers the university, an admin verifies it and the student asks it, all on the web."""
    browser.become("registrar")
    browser.open("/university")
    browser.click("Register your university")
    browser.fill("What is your university's name?", university)
    browser.fill("What is its AISHE code?", f"U-{secrets.randbelow(900000) + 100000}")
    browser.fill("What is its website?", SITE)
    browser.click("Register the university")
    browser.see(f"{university} is registered. A Stint admin will verify it before you can decide credit.")

    browser.become("admin")
    browser.open("/admin")
    browser.click("Universities waiting for verification")
    browser.see(university)
    browser.check_accessibility("universities waiting")
    browser.click(f"Verify {university}")
    browser.see(f"{university} is verified: students can ask it for credit.")

    browser.become("student")
    browser.open("/student/credentials")
    browser.click("Ask a university for credit")
    browser.see("Ask a university for credit", ORG)
    browser.check_accessibility("ask for credit")
    browser.pick("Which university should give you credit?", university)
    browser.fill("Anything the registrar should know? (optional)", "For my elective")
    browser.click("Send the request")
    browser.see(f"Your request is sent to {university}. Its registrar will decide.")


def ask_for_credit_through_the_api(platform, story, university: str) -> None:
    """The same three steps through the certification API, with the same people's tokens."""
    certification = platform.url("certification")
    registrar = bearer("university", story.registrar_id, org=story.university, name="Uma Deshpande")
    profile = {"name": university, "aishe_code": f"U-{secrets.randbelow(900000) + 100000}", "website": SITE}
    answer = requests.put(f"{certification}/universities/me", json=profile, headers=registrar, timeout=10)
    assert answer.status_code == 200, answer.text
    verify = f"{certification}/universities/{story.university}/verify"
    answer = requests.post(verify, headers=bearer("admin", "admin-browser", name="Anil Admin"), timeout=10)
    assert answer.status_code == 200, answer.text
    asha = platform.keycloak.admin.find_user(story.student_email)["id"]
    student = bearer("student", asha, name="Asha Kulkarni", email=story.student_email)
    request = {"credential_id": story.credential_id, "university_id": story.university, "note": "For my elective"}
    answer = requests.post(f"{certification}/credit-requests", json=request, headers=student, timeout=10)
    assert answer.status_code == 201, answer.text


def test_a_student_signs_in_and_applies_with_the_keyboard_alone(browser, platform, story):
    story.needs("published")
    from selenium.webdriver.common.keys import Keys

    email = unique_email("kavya")
    create_user(platform.keycloak, email, PASSWORD, role="student", name="Kavya Menon")
    browser.become("kavya")
    browser.open("/")

    def then_a_new_page(*keys):
        with browser.next_page():
            browser.press(*keys)

    first = browser.tab_to("Skip to main content", most=1)  # the first Tab shows the way past the menu
    assert first["on_screen"], "the skip link has the focus but cannot be seen"
    browser.tab_to("Sign in")
    then_a_new_page(Keys.ENTER)
    assert browser.url.startswith(platform.keycloak.url)
    if (browser.focused() or {}).get("id") != "username":  # Keycloak's own focus style is Keycloak's business
        browser.tab_to("username", visible_focus=False)
    browser.press(email)
    browser.tab_to("password", visible_focus=False)
    browser.press(PASSWORD)
    then_a_new_page(Keys.ENTER)
    browser.see("My applications", "Kavya Menon")

    browser.tab_to("Find projects")
    then_a_new_page(Keys.ENTER)
    browser.tab_to("f-q")
    browser.press(f"UPI {CODE}")
    then_a_new_page(Keys.ENTER)
    browser.see(TITLE)
    browser.tab_to(TITLE)
    then_a_new_page(Keys.ENTER)
    browser.tab_to("Apply for this project")
    then_a_new_page(Keys.ENTER)
    browser.tab_to("f-cover_note")
    browser.press("I run my college's finance club and write its newsletter.")
    browser.tab_to("f-answers-0")
    browser.press("https://kavya.example.in/newsletter")
    browser.tab_to("Send my application")
    then_a_new_page(Keys.SPACE)
    browser.see(f"Your application to “{TITLE}” has been sent.", "Applied")


def test_no_main_page_has_a_serious_or_critical_accessibility_violation(browser, story):
    if browser.axe is None:
        pytest.skip(f"axe-core is not available: {browser.axe_missing}")
    checked = {report.page for report in browser.reports if report.ours}
    found = sum(len(report.violations) for report in browser.reports if report.ours)
    passed = min(report.passed for report in browser.reports)
    print(f"\naxe-core checked {len(checked)} of Stint's pages ({', '.join(sorted(checked))}): {found} violations")
    print(f"(each page passed at least {passed} of axe-core's rules; the others did not apply to it)")
    for report in browser.reports:
        if report.violations:  # Stint's moderate and minor ones, and everything on Keycloak's pages: reported
            print(report.describe())
    blocking = [report.describe(only_blocking=True) for report in browser.reports if report.ours and report.blocking]
    assert not blocking, "serious or critical accessibility violations:\n" + "\n".join(blocking)
    assert checked >= MAIN_PAGES, f"pages not checked (their journey did not get there): {MAIN_PAGES - checked}"
