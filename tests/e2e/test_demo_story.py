"""`make demo` against the whole platform as real processes: the story runs to its end, and afterwards every party
finds what the story promised — a credential that verifies, its page and PDF, the university's export, the inboxes
and the credential email."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from demo import cast as script
from demo.cast import Cast, cast_for, new_run_id
from demo.platform import DEFAULT_URLS, Platform
from devservers import free_port
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
STORY_TIMEOUT_SECONDS = 240
WAIT_SECONDS = 60


@dataclass
class Told:
    """One run of `python -m demo`: its people, what it printed, and the student's credential as she sees it."""

    cast: Cast
    stdout: str
    credential: dict

    @property
    def uuid(self) -> str:
        """The credential's uuid, as used in certification paths."""
        return self.credential["id"].removeprefix("urn:uuid:")


def run_demo(*args: str, timeout: float = STORY_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    """`python -m demo` as `make demo` runs it, signing tokens with the test platform's secret."""
    env = {**os.environ, "STINT_AUTH_SECRET": TEST_SECRET}
    command = [sys.executable, "-m", "demo", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def stint(platform) -> Platform:
    """The demo's own HTTP client, pointed at the test platform."""
    return Platform(platform.urls, wait_seconds=WAIT_SECONDS)


@pytest.fixture(scope="module")
def told(platform, stint) -> Told:
    """The demo run once against the test platform, as a separate process."""
    run = new_run_id()
    urls = [arg for service, url in platform.urls.items() for arg in (f"--{service}-url", url)]
    completed = run_demo("--run-id", run, "--timeout", str(WAIT_SECONDS), "--web-url", platform.web_url, *urls)
    assert completed.returncode == 0, f"the demo failed:\n{completed.stdout}\n{completed.stderr}"
    cast = cast_for(run, TEST_SECRET)
    credentials = stint.json("certification", "GET", "/credentials?mine=1", cast.students[0])["items"]
    assert len(credentials) == 1, credentials
    return Told(cast, completed.stdout, credentials[0])


def email_text(message) -> str:
    """The decoded text of every part of an email."""
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")


def event_types(stint: Platform, who) -> list[str]:
    """The event types of `who`'s inbox, newest first."""
    return [item["event_type"] for item in stint.json("notification", "GET", "/notifications?limit=100", who)["items"]]


def test_the_demo_prints_each_step_and_ends_with_the_verification_link(told, platform):
    lines = told.stdout.strip().splitlines()
    assert any(line.startswith(f"✓ {script.ORG_NAME} registered (pending) → verified") for line in lines), lines
    assert f"Verification link: {platform.url('certification')}/verify/{told.uuid}" in lines
    assert told.credential["verification_url"] == f"{platform.url('certification')}/verify/{told.uuid}"


def test_the_demo_ends_with_links_into_the_web_that_open(told, platform):
    links = dict(line.split(None, 2)[-2:] for line in told.stdout.splitlines()[-4:-1] if "http" in line)
    listing = requests.get(links["listing"], timeout=30)
    assert listing.status_code == 200 and script.listing_draft()["title"] in listing.text
    credential = requests.get(links["credential"], timeout=30)
    assert credential.status_code == 200 and told.cast.students[0].name in credential.text


def test_the_issued_credential_verifies_with_every_check_passed(told, stint):
    document = stint.json("certification", "GET", f"/credentials/{told.uuid}")
    result = stint.json("certification", "POST", "/verify", body=document)
    assert result["verified"] is True
    assert {check["name"] for check in result["checks"] if check["passed"]} >= {
        "signature",
        "issuer_key",
        "status",
        "validity_window",
    }
    assert all(check["passed"] for check in result["checks"]), result["checks"]
    names = [i["identityHash"] for i in document["credentialSubject"]["identifier"] if i["identityType"] == "name"]
    assert names == ["Asha Rao"]
    assert told.cast.students[0].email not in json.dumps(document), "the student's email is never in the credential"


def test_the_verification_page_names_the_student_the_work_and_the_employer(told, stint):
    page = stint.call("certification", "GET", f"/verify/{told.uuid}", headers={"Accept": "text/html"})
    assert page.headers["Content-Type"].startswith("text/html")
    for fact in ("Asha Rao", script.listing_draft()["title"], script.ORG_NAME, "45"):
        assert fact in page.text, fact
    facts = stint.call("certification", "GET", f"/verify/{told.uuid}", headers={"Accept": "application/json"}).json()
    assert (facts["state"], facts["student_name"], facts["credits"]) == ("valid", "Asha Rao", "1.5")


def test_the_certificate_pdf_is_a_pdf_naming_the_student(told, stint, tmp_path):
    pdf = stint.call("certification", "GET", f"/credentials/{told.uuid}/pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
    if shutil.which("pdftotext") is None:
        pytest.skip("the PDF is a PDF; reading its text needs pdftotext (poppler-utils), which is not installed")
    (tmp_path / "certificate.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "certificate.pdf"), "-"], capture_output=True, text=True)
    assert "Asha Rao" in text.stdout


def test_the_university_export_has_the_accepted_credit_row(told, stint):
    export = stint.call("certification", "GET", "/credit-decisions/export", told.cast.university)
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(row["credential_id"], row["student_name"], row["credits"], row["course_code"]) for row in rows] == [
        (told.credential["id"], "Asha Rao", "1.5", script.COURSE["course_code"])
    ]
    assert rows[0]["listing_title"] == script.listing_draft()["title"]
    assert (rows[0]["employer"], rows[0]["hours"]) == (script.ORG_NAME, "45")


def test_the_student_inbox_tells_of_acceptance_changes_approval_and_the_credential(told, stint):
    seen = event_types(stint, told.cast.students[0])
    for expected in (
        "stint.application.accepted.v1",
        "stint.work.changes_requested.v1",
        "stint.work.approved.v1",
        "stint.certificate.issued.v1",
        "stint.certificate.credit_decided.v1",
    ):
        assert seen.count(expected) == 1, (expected, seen)


def test_the_employer_org_inbox_has_the_three_applications_and_both_rounds_of_work(told, stint):
    items = stint.json("notification", "GET", "/notifications?limit=100", told.cast.employer)["items"]
    applied = [item["body"] for item in items if item["event_type"] == "stint.application.submitted.v1"]
    assert sorted(name for name in script.STUDENT_NAMES if any(name in body for body in applied)) == sorted(
        script.STUDENT_NAMES
    )
    assert [item["event_type"] for item in items].count("stint.work.submitted.v1") == 2


def test_the_applicant_who_was_not_taken_hears_the_listing_closed_and_others_hear_nothing_of_it(told, stint):
    asha, ben, chen = told.cast.students
    assert event_types(stint, chen) == ["stint.listing.closed.v1"]
    assert event_types(stint, ben) == ["stint.application.accepted.v1"]
    assert sorted(event_types(stint, told.cast.university)) == [
        "stint.credit.requested.v1",
        "stint.university.verified.v1",
    ]


def test_the_student_gets_the_credential_email_with_the_verification_link(told, platform, stint):
    asha, title = told.cast.students[0], script.listing_draft()["title"]

    def credential_emails():
        return [m for m in platform.mail.to(asha.email) if m["Subject"] == f"Your credential for {title} is ready"]

    emails = stint.wait_for("the credential email", credential_emails)
    assert len(emails) == 1
    assert told.credential["verification_url"] in email_text(emails[0])


def test_the_demo_says_run_make_up_first_when_the_platform_is_not_up():
    urls = [arg for service in DEFAULT_URLS for arg in (f"--{service}-url", f"http://127.0.0.1:{free_port()}")]
    completed = run_demo(*urls, timeout=60)
    assert completed.returncode == 2
    assert "run `make up` first" in completed.stderr
    assert "Traceback" not in completed.stderr
