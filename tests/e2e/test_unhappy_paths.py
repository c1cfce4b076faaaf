"""What goes wrong, end to end on the platform as real processes: refusals a user meets, credentials that must not
verify, privacy between students, and bad input answered as a 4xx in the one error shape by every service."""

from __future__ import annotations

import copy
import html
import uuid
from dataclasses import dataclass

import pytest

from demo import cast as script
from demo.platform import Person, Platform, person
from demo.story import apply_once_listed
from tests.conftest import TEST_SECRET

WAIT_SECONDS = 60
ERROR_KEYS = {"code", "message", "details"}


@pytest.fixture(scope="module")
def stint(platform) -> Platform:
    """The demo's HTTP client, pointed at the test platform; waits on asynchronous effects up to a deadline."""
    return Platform(platform.urls, wait_seconds=WAIT_SECONDS)


def someone(role: str, org: str | None = None) -> Person:
    """A new person of `role` the platform has never seen."""
    tag = uuid.uuid4().hex[:8]
    return person(
        TEST_SECRET, f"{role.title()} {tag}", role, f"{role}-{tag}", org=org, email=f"{role}.{tag}@e2e.example"
    )


def registered_org(stint: Platform, verified: bool = True) -> Person:
    """An employer of a newly registered organisation, verified by an admin unless told otherwise."""
    employer = someone("employer", org=f"org-{uuid.uuid4().hex[:8]}")
    stint.json("listing", "PUT", "/orgs/me", employer, script.ORGANISATION)
    if verified:
        stint.json("listing", "POST", f"/orgs/{employer.org}/verify", someone("admin"))
    return employer


def published_listing(stint: Platform, employer: Person, seats: int) -> str:
    """A published listing of `seats` seats without screening questions; its id."""
    draft = {**script.listing_draft(), "seats": seats, "screening_questions": []}
    listing_id = stint.json("listing", "POST", "/listings", employer, draft, expect=201)["id"]
    stint.json("listing", "POST", f"/listings/{listing_id}/publish", employer)
    return listing_id


def applied(stint: Platform, student: Person, listing_id: str) -> str:
    """The student's application to the listing (waiting until the application service knows the listing)."""
    body = {"listing_id": listing_id, "cover_note": "I would like to do this.", "answers": []}
    return apply_once_listed(stint, student, body)["id"]


def error_of(response) -> dict:
    """The error of a refused request, which must be in the one error shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["details"], dict), body
    return body["error"]


@dataclass
class Graduate:
    """A student whose approved work earned a credential."""

    student: Person
    credential_id: str

    @property
    def uuid(self) -> str:
        """The uuid of the credential's id, as used in certification paths."""
        return self.credential_id.removeprefix("urn:uuid:")


@pytest.fixture(scope="module")
def graduates(stint) -> list[Graduate]:
    """Two students of one listing whose work was approved, each holding the credential the platform issued."""
    employer = registered_org(stint)
    listing_id = published_listing(stint, employer, seats=2)
    students = [someone("student"), someone("student")]
    work = {"links": ["https://github.com/e2e/work"], "notes": "Done.", "hours_spent": 30}
    approval = {"decision": "approve", "feedback": "Good.", "rating": 4, "hours_verified": 30}
    for student in students:
        application_id = applied(stint, student, listing_id)
        stint.json("application", "POST", f"/applications/{application_id}/accept", employer)
        stint.json("application", "POST", f"/applications/{application_id}/submissions", student, work, expect=201)
        stint.json("application", "POST", f"/applications/{application_id}/review", employer, approval)
    return [
        Graduate(
            student,
            stint.wait_for(
                f"{student.name}'s credential",
                lambda student=student: stint.json("certification", "GET", "/credentials?mine=1", student)["items"],
            )[0]["id"],
        )
        for student in students
    ]


def credential_document(stint: Platform, graduate: Graduate) -> dict:
    """The signed credential as anyone fetches it."""
    return stint.json("certification", "GET", f"/credentials/{graduate.uuid}")


def failing_checks(result: dict) -> list[str]:
    """The names of the checks a verification failed."""
    return [check["name"] for check in result["checks"] if not check["passed"]]


def test_publishing_before_the_organisation_is_verified_is_refused(stint):
    employer = registered_org(stint, verified=False)
    draft = stint.json("listing", "POST", "/listings", employer, script.listing_draft(), expect=201)
    refused = stint.request("listing", "POST", f"/listings/{draft['id']}/publish", employer)
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "org_not_verified"
    assert stint.request("listing", "GET", f"/listings/{draft['id']}").status_code == 404  # not public


def test_a_third_accept_beyond_the_seats_is_refused(stint):
    employer = registered_org(stint)
    listing_id = published_listing(stint, employer, seats=2)
    applications = [applied(stint, someone("student"), listing_id) for _ in range(3)]
    for application_id in applications[:2]:
        assert stint.json("application", "POST", f"/applications/{application_id}/accept", employer)["status"] == (
            "accepted"
        )
    refused = stint.request("application", "POST", f"/applications/{applications[2]}/accept", employer)
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "no_seats_left"
    assert stint.json("application", "GET", f"/applications/{applications[2]}", employer)["status"] == "applied"


def test_applying_after_the_listing_filled_is_refused_once_the_close_reaches_applications(stint):
    employer = registered_org(stint)
    listing_id = published_listing(stint, employer, seats=1)
    stint.json(
        "application", "POST", f"/applications/{applied(stint, someone('student'), listing_id)}/accept", employer
    )
    stint.wait_for(
        "the listing service to close the full listing",
        lambda: stint.json("listing", "GET", f"/listings/{listing_id}")["status"] == "closed",
    )
    body = {"listing_id": listing_id, "cover_note": "Too late?", "answers": []}

    def refused():  # each try is a new student: one let in before the close arrived changes nothing here
        response = stint.request("application", "POST", "/applications", someone("student"), body)
        assert response.status_code in (201, 409), response.text
        return error_of(response) if response.status_code == 409 else None

    assert stint.wait_for("the application service to refuse applicants", refused)["code"] == "listing_not_open"


def test_a_tampered_credential_fails_verification_naming_the_signature_check(stint, graduates):
    document = credential_document(stint, graduates[0])
    assert stint.json("certification", "POST", "/verify", body=document)["verified"] is True
    tampered = copy.deepcopy(document)
    tampered["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory Forger"  # the student's name
    result = stint.json("certification", "POST", "/verify", body=tampered)
    assert result["verified"] is False
    assert failing_checks(result) == ["signature"]


def test_a_revoked_credential_shows_revoked_everywhere_and_the_student_is_told(stint, graduates):
    graduate, reason = graduates[1], "The employer reported the work was not the student's own."
    stint.json("certification", "POST", f"/credentials/{graduate.uuid}/revoke", someone("admin"), {"reason": reason})
    page = stint.call("certification", "GET", f"/verify/{graduate.uuid}", headers={"Accept": "text/html"}).text
    assert "revoked" in page.lower() and reason in html.unescape(page)
    result = stint.json("certification", "POST", "/verify", body=credential_document(stint, graduate))
    assert result["verified"] is False
    assert failing_checks(result) == ["status"]

    def told() -> list[dict]:
        items = stint.json("notification", "GET", "/notifications", graduate.student)["items"]
        return [item for item in items if item["event_type"] == "stint.certificate.revoked.v1"]

    assert reason in stint.wait_for("the student to hear of the revocation", told)[0]["body"]


def test_a_student_cannot_read_another_students_inbox_or_credentials(stint, graduates):
    owner, other = graduates[0], graduates[1]
    theirs = stint.json("notification", "GET", "/notifications", owner.student)["items"]
    assert theirs, "the owner's inbox should hold their notifications"
    seen_by_other = stint.json("notification", "GET", "/notifications?limit=100", other.student)["items"]
    assert not {item["id"] for item in theirs} & {item["id"] for item in seen_by_other}
    refused = stint.request("notification", "POST", f"/notifications/{theirs[0]['id']}/read", other.student)
    assert refused.status_code == 404 and error_of(refused)
    credentials = stint.json("certification", "GET", "/credentials?mine=1", other.student)["items"]
    assert [item["id"] for item in credentials] == [other.credential_id]


def test_a_university_batch_reports_an_unknown_id_unverified(stint, graduates):
    unknown = f"urn:uuid:{uuid.uuid4()}"
    batch = {"items": [{"id": graduates[0].credential_id}, {"id": unknown}]}
    results = stint.json("certification", "POST", "/verify/batch", someone("university", org="uni-e2e"), batch)
    known, missing = results["results"]
    assert known["verified"] is True
    assert missing["verified"] is False
    assert failing_checks(missing) == ["found"]


def test_a_policy_sent_as_form_data_is_refused_and_the_policy_stays(stint):
    university = someone("university", org=f"uni-{uuid.uuid4().hex[:8]}")
    stint.json("certification", "PUT", "/universities/me/policy", university, {"hours_per_credit": 45, "min_hours": 10})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = stint.request(
        "certification", "PUT", "/universities/me/policy", university, data=b"hours_per_credit=60", headers=form
    )
    assert refused.status_code == 415 and error_of(refused)["code"] == "unsupported_media_type"
    policy = stint.json("certification", "GET", "/universities/me/policy", university)
    assert (policy["hours_per_credit"], policy["min_hours"]) == (45, 10)


# A write endpoint of every service, called by a role allowed to use it. POST /verify reads any JSON object as a
# credential to check (a wrong one is 200 with verified: false, docs/certification.md), so only non-objects are garbage.
ENDPOINTS = [
    ("listing", "PUT", "/orgs/me", ("employer", "org-garbage")),
    ("listing", "POST", "/listings", ("employer", "org-garbage")),
    ("application", "POST", "/applications", ("student", None)),
    ("certification", "POST", "/verify", None),
    ("certification", "PUT", "/universities/me/policy", ("university", "uni-garbage")),
    ("notification", "PUT", "/preferences", ("student", None)),
]
NOT_AN_OBJECT = [
    ("not JSON", b"{this is not json", "application/json"),
    ("a JSON array", b"[1, 2, 3]", "application/json"),
    ("a JSON string", b'"hello"', "application/json"),
    ("form data", b"hours_per_credit=45&name=Acme", "application/x-www-form-urlencoded"),
    ("JSON sent as plain text", b'{"hours_per_credit": 45}', "text/plain"),
]
WRONG_OBJECT = ("wrong types and an unknown field", b'{"name": 5, "seats": "many", "hours_per_credit": [], "x": 1}')


@pytest.mark.parametrize(("service", "method", "path", "caller"), ENDPOINTS, ids=[f"{e[0]} {e[2]}" for e in ENDPOINTS])
def test_garbage_bodies_get_a_4xx_in_the_error_shape(stint, service, method, path, caller):
    who = someone(caller[0], org=caller[1]) if caller else None
    garbage = NOT_AN_OBJECT + ([] if path == "/verify" else [(*WRONG_OBJECT, "application/json")])
    for what, raw, content_type in garbage:
        response = stint.request(service, method, path, who, data=raw, headers={"Content-Type": content_type})
        assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
        assert error_of(response)["code"], what
