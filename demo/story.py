"""The story itself: organisation, listing, applications, work, credential, university credit, everyone's inbox."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from demo import cast as script
from demo.cast import Cast
from demo.platform import Person, Platform, StoryFailed, describe_error

Say = Callable[[str], None]

# How each notification reads in a one-line inbox summary.
INBOX_LABELS = {
    "stint.org.verified.v1": "organisation verified",
    "stint.listing.closed.v1": "listing closed",
    "stint.application.submitted.v1": "new application",
    "stint.application.shortlisted.v1": "shortlisted",
    "stint.application.accepted.v1": "accepted",
    "stint.application.rejected.v1": "not taken forward",
    "stint.application.withdrawn.v1": "withdrawn",
    "stint.work.submitted.v1": "work to review",
    "stint.work.changes_requested.v1": "changes requested",
    "stint.work.rejected.v1": "work rejected",
    "stint.work.approved.v1": "work approved",
    "stint.certificate.issued.v1": "credential ready",
    "stint.certificate.revoked.v1": "credential revoked",
    "stint.certificate.credit_decided.v1": "credit decision",
    "stint.university.verified.v1": "university verified",
    "stint.credit.requested.v1": "credit request",
}


@dataclass
class Outcome:
    """What the story left on the platform, for whoever wants to look again."""

    cast: Cast
    listing_id: str = ""
    applications: dict[str, str] = field(default_factory=dict)  # student sub → application id
    credential: dict = field(default_factory=dict)  # the student's summary of the issued credential
    export_csv: str = ""
    inboxes: dict[str, list[dict]] = field(default_factory=dict)  # person's name → their inbox, newest first

    @property
    def credential_uuid(self) -> str:
        """The uuid in the credential's `urn:uuid:` id (used in certification paths)."""
        return self.credential["id"].removeprefix("urn:uuid:")


def run_story(platform: Platform, cast: Cast, say: Say = print) -> Outcome:
    """Tell the whole story through the public APIs; raise StoryFailed at the first step that goes wrong."""
    outcome = Outcome(cast)
    register_and_verify_organisation(platform, cast, say)
    outcome.listing_id = publish_listing(platform, cast, say)
    outcome.applications = three_students_apply(platform, cast, outcome.listing_id, say)
    accept_two_and_fill_the_listing(platform, cast, outcome, say)
    asha, asha_application = cast.students[0], outcome.applications[cast.students[0].sub]
    work_until_approved(platform, cast.employer, asha, asha_application, say)
    outcome.credential = wait_for_credential(platform, asha, asha_application, say)
    register_and_verify_university(platform, cast, say)
    ask_for_credit(platform, asha, cast.university, outcome.credential, say)
    outcome.export_csv = university_accepts_for_credit(platform, cast.university, outcome.credential, say)
    outcome.inboxes = check_inboxes(platform, cast, say)
    public_url = outcome.credential["verification_url"].rsplit("/verify/", 1)[0]
    say(f"\nCertificate (PDF): {public_url}/credentials/{outcome.credential_uuid}/pdf")
    say(f"Verification link: {outcome.credential['verification_url']}")
    return outcome


def register_and_verify_organisation(platform: Platform, cast: Cast, say: Say) -> None:
    """The employer registers Acme Labs; an administrator verifies it."""
    org = platform.json("listing", "PUT", "/orgs/me", cast.employer, script.ORGANISATION)
    verified = platform.json("listing", "POST", f"/orgs/{cast.org_id}/verify", cast.admin)
    say(f"✓ {org['name']} registered ({org['status']}) → {verified['status']} by an admin")


def publish_listing(platform: Platform, cast: Cast, say: Say) -> str:
    """Acme Labs writes a listing with a brief and publishes it; returns its id."""
    draft = platform.json("listing", "POST", "/listings", cast.employer, script.listing_draft(), expect=201)
    published = platform.json("listing", "POST", f"/listings/{draft['id']}/publish", cast.employer)
    say(
        f"✓ {cast.employer.name} wrote “{published['title']}” ({published['seats']} seats, "
        f"{published['effort_hours']:g} h over {published['duration_days']} days, "
        f"{published['stipend']['currency']} {published['stipend']['amount']}) and published it"
    )
    return draft["id"]


def three_students_apply(platform: Platform, cast: Cast, listing_id: str, say: Say) -> dict[str, str]:
    """Each student applies with a cover note and an answer to the screening question."""
    applications = {}
    for student in cast.students:
        cover_note, answer = script.APPLICATIONS[student.name]
        body = {"listing_id": listing_id, "cover_note": cover_note, "answers": [answer]}
        applications[student.sub] = apply_once_listed(platform, student, body)["id"]
    names = [student.first_name for student in cast.students]
    say(f"✓ {', '.join(names[:-1])} and {names[-1]} applied, each answering the screening question")
    return applications


def apply_once_listed(platform: Platform, student: Person, body: dict) -> dict:
    """Apply, waiting while the application service has not yet heard of the listing (its events come over Kafka)."""

    def apply() -> dict | None:
        response = platform.request("application", "POST", "/applications", student, body)
        if response.status_code == 422 and response.json().get("error", {}).get("code") == "listing_not_found":
            return None
        if response.status_code != 201:
            raise StoryFailed(f"{student.name} could not apply: {response.status_code} {describe_error(response)}")
        return response.json()

    return platform.wait_for("the application service to learn of the published listing", apply)


def accept_two_and_fill_the_listing(platform: Platform, cast: Cast, outcome: Outcome, say: Say) -> None:
    """Asha is shortlisted then accepted, Ben accepted; the full listing closes itself (seat events over Kafka)."""
    asha, ben, chen = cast.students
    seen = platform.json("application", "GET", f"/applications?listing_id={outcome.listing_id}", cast.employer)
    platform.json("application", "POST", f"/applications/{outcome.applications[asha.sub]}/shortlist", cast.employer)
    for student in (asha, ben):
        platform.json("application", "POST", f"/applications/{outcome.applications[student.sub]}/accept", cast.employer)
    say(
        f"✓ {cast.employer.first_name} read {len(seen['items'])} applications, shortlisted {asha.first_name}, "
        f"accepted {asha.first_name} and {ben.first_name}; {chen.first_name} stays on the list"
    )
    closed = platform.wait_for(
        "the listing to close once both seats were taken",
        lambda: _closed_listing(platform, outcome.listing_id),
    )
    say(f"✓ Both seats taken ({closed['seats_filled']}/{closed['seats']}): the listing closed itself")


def _closed_listing(platform: Platform, listing_id: str) -> dict | None:
    listing = platform.json("listing", "GET", f"/listings/{listing_id}")
    return listing if listing["status"] == "closed" else None


def work_until_approved(platform: Platform, employer: Person, student: Person, application_id: str, say: Say) -> None:
    """The student submits, is asked for changes, resubmits, and the employer approves."""
    path = f"/applications/{application_id}"
    first = script.FIRST_ROUND
    submitted = platform.json("application", "POST", f"{path}/submissions", student, first, expect=201)
    expect_status(submitted, "submitted")
    say(f"✓ {student.first_name} submitted work: round 1, {first['hours_spent']} h, {len(first['links'])} links")
    changes = {"decision": "request_changes", "feedback": script.CHANGES_FEEDBACK}
    expect_status(platform.json("application", "POST", f"{path}/review", employer, changes), "changes_requested")
    say(f"↺ {employer.first_name} asked for changes: “{script.CHANGES_FEEDBACK}”")
    second = script.SECOND_ROUND
    expect_status(platform.json("application", "POST", f"{path}/submissions", student, second, expect=201), "submitted")
    say(f"✓ {student.first_name} resubmitted: round 2, {second['hours_spent']} h")
    expect_status(platform.json("application", "POST", f"{path}/review", employer, script.APPROVAL), "approved")
    stars = "★" * script.APPROVAL["rating"]
    say(f"✓ {employer.first_name} approved it: {stars}, {script.APPROVAL['hours_verified']} h verified")


def expect_status(application: dict, status: str) -> None:
    """The application moved to `status`, else the story stops."""
    if application["status"] != status:
        raise StoryFailed(f"application {application['id']} is {application['status']}, expected {status}")


def wait_for_credential(platform: Platform, student: Person, application_id: str, say: Say) -> dict:
    """Poll the student's credentials until the one for this application is issued."""
    started = time.monotonic()

    def issued() -> dict | None:
        page = platform.json("certification", "GET", "/credentials?mine=1", student)
        return next((item for item in page["items"] if item["application_id"] == application_id), None)

    credential = platform.wait_for("the credential to be issued (work.approved over Kafka)", issued)
    say(
        f"✓ Credential issued to {student.first_name} {time.monotonic() - started:.1f} s after approval: "
        f"{credential['hours']:g} h, {credential['credits_recommended']:g} credits recommended ({credential['id']})"
    )
    return credential


def register_and_verify_university(platform: Platform, cast: Cast, say: Say) -> None:
    """The registrar registers the university (pending) and the operator verifies it."""
    profile = {"name": script.UNIVERSITY_NAME, "aishe_code": script.aishe_code(cast.run), "website": script.UNI_SITE}
    platform.json("certification", "PUT", "/universities/me", cast.university, profile)
    org = cast.university.org
    verified = platform.json("certification", "POST", f"/universities/{org}/verify", cast.admin)
    code = profile["aishe_code"]
    say(f"✓ {script.UNIVERSITY_NAME} registered (AISHE {code}) and {verified['status']} by the operator")


def ask_for_credit(platform: Platform, student: Person, university: Person, credential: dict, say: Say) -> None:
    """The student asks the verified university for credit for their credential."""
    body = {"credential_id": credential["id"], "university_id": university.org, "note": "For my elective"}
    request = platform.json("certification", "POST", "/credit-requests", student, body, 201)
    say(f"✓ {student.name} asked {request['university_name']} for credit ({request['status']})")


def university_accepts_for_credit(platform: Platform, university: Person, credential: dict, say: Say) -> str:
    """The university verifies the credential alone and in a batch, sets its policy, accepts it; returns the CSV."""
    uuid = credential["id"].removeprefix("urn:uuid:")
    document = platform.json("certification", "GET", f"/credentials/{uuid}")
    result = platform.json("certification", "POST", "/verify", body=document)
    if not result["verified"]:
        failed = [check["name"] for check in result["checks"] if not check["passed"]]
        raise StoryFailed(f"the issued credential does not verify; failing checks: {failed}")
    checks = ", ".join(check["name"] for check in result["checks"])
    say(f"✓ {script.UNIVERSITY_NAME} verified it: {checks} all passed")
    batch = {"items": [{"id": credential["id"]}, {"credential": document}]}
    results = platform.json("certification", "POST", "/verify/batch", university, batch)["results"]
    if not all(item["verified"] for item in results):
        raise StoryFailed(f"the batch check did not verify every item: {results}")
    say(f"✓ Its batch check (by id, and the JSON itself): {len(results)} of {len(batch['items'])} verified")
    policy = platform.json("certification", "PUT", "/universities/me/policy", university, script.POLICY)
    say(f"✓ Policy set: {policy['hours_per_credit']:g} h per credit, at least {policy['min_hours']:g} h")
    decision = {"decision": "accepted", "credits_awarded": credential["credits_recommended"], **script.COURSE}
    decided = platform.json("certification", "POST", f"/credentials/{uuid}/credit-decisions", university, decision, 201)
    say(f"✓ Accepted for {decided['credits_awarded']:g} credits ({decided['course_code']}, {decided['term']}); export:")
    export_csv = platform.call("certification", "GET", "/credit-decisions/export", university).text
    for line in export_csv.strip().splitlines():
        say(f"    {line}")
    return export_csv


def expected_inboxes(cast: Cast) -> dict[str, Counter]:
    """Who must have heard what: the organisation, each student, the university (verified; a credit request)."""
    asha, ben, chen = cast.students
    return {
        cast.employer.name: Counter(
            {"stint.org.verified.v1": 1, "stint.application.submitted.v1": 3, "stint.work.submitted.v1": 2}
        ),
        asha.name: Counter(
            f"stint.{name}.v1"
            for name in (
                "application.shortlisted",
                "application.accepted",
                "work.changes_requested",
                "work.approved",
                "certificate.issued",
                "certificate.credit_decided",
            )
        ),
        ben.name: Counter({"stint.application.accepted.v1": 1}),
        chen.name: Counter({"stint.listing.closed.v1": 1}),
        cast.university.name: Counter({"stint.university.verified.v1": 1, "stint.credit.requested.v1": 1}),
    }


def check_inboxes(platform: Platform, cast: Cast, say: Say) -> dict[str, list[dict]]:
    """Wait until every inbox shows what it should, then print one line per person."""
    people = {p.name: p for p in (cast.employer, *cast.students, cast.university)}
    inboxes = {}
    for name, expected in expected_inboxes(cast).items():

        def arrived(who=people[name], expected=expected) -> list[dict] | None:
            items = platform.json("notification", "GET", "/notifications?limit=100", who)["items"]
            return items if not expected - Counter(item["event_type"] for item in items) else None

        if expected:
            inboxes[name] = platform.wait_for(f"{name}'s inbox to show {dict(expected)}", arrived)
        else:
            inboxes[name] = platform.json("notification", "GET", "/notifications?limit=100", people[name])["items"]
    say("✓ Inboxes:")
    roles = {cast.employer.name: script.ORG_NAME, cast.university.name: script.UNIVERSITY_NAME}
    for name, items in inboxes.items():
        summary = summarise_inbox(items) or "empty"
        say(f"    {name} ({roles.get(name, people[name].role)}): {summary}")
    return inboxes


def summarise_inbox(items: list[dict]) -> str:
    """'organisation verified, 3 × new application, …' in the order things happened."""
    counts = Counter(item["event_type"] for item in items)
    labels = []
    for kind in dict.fromkeys(item["event_type"] for item in reversed(items)):
        label = INBOX_LABELS.get(kind, kind)
        labels.append(f"{counts[kind]} × {label}" if counts[kind] > 1 else label)
    return ", ".join(labels)
