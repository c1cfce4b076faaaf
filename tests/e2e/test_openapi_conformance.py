"""Each service's OpenAPI document tells the truth: Schemathesis sends it generated requests, valid and invalid, on the
real gunicorn processes of the `platform` fixture, as each role that uses the service.

For every request: no 5xx; the answer is documented — its status code is listed for the operation (flask-smorest's
catch-all `default` response is removed first, so "documented" means named), its content type is a documented one
and its body matches the documented schema; and a request the document forbids is refused with a 4xx. Path ids and
some bodies are sometimes swapped for real ones (published listings, applications, an issued credential, inbox
entries, a webhook), so requests reach the services' rules rather than stopping at 404.

It drives Schemathesis' engine (what `st run` uses: examples, coverage and fuzzing phases) rather than its pytest
plugin, whose lazy fixture loader writes pytest's private `Node._nodeid`, which pytest 9 no longer has.
"""

from __future__ import annotations

import copy
import time

import pytest
import requests

from shared.auth import mint_token
from tests.conftest import TEST_SECRET, auth_header

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis==4.32.5 (requirements-dev.txt)")

from hypothesis import strategies as st  # noqa: E402  (hypothesis comes with schemathesis)
from schemathesis.engine import events  # noqa: E402

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",  # a request the document forbids is refused with a 4xx
]
# Each service as every role that has something to do there.
SERVICE_ROLES = [
    ("listing", "employer"),
    ("listing", "admin"),
    ("application", "student"),
    ("application", "employer"),
    ("certification", "student"),
    ("certification", "university"),
    ("certification", "admin"),
    ("notification", "student"),
    ("notification", "employer"),
]
PEOPLE = {
    "employer": {"sub": "conf-employer", "org": "conf-acme"},
    "student": {"sub": "conf-student"},
    "university": {"sub": "conf-registrar", "org": "conf-uni"},
    "admin": {"sub": "conf-admin"},
}
EXAMPLES_PER_OPERATION = 20
PIPELINE_TIMEOUT = 90
PROFILE = {"name": "Conformance Co", "website": "https://conf.example", "registration_id": "CONF-1"}
REVOKED = "stint.certificate.revoked.v1"


def _call(platform, method, service, path, bearer=None, expect=(200, 201), **kwargs):
    response = platform.http.request(
        method, platform.url(service, path), headers=auth_header(bearer) if bearer else {}, timeout=30, **kwargs
    )
    assert response.status_code in expect, (method, path, response.status_code, response.text[:300])
    return response.json() if response.content else None


def _eventually(fetch, what, timeout=PIPELINE_TIMEOUT):
    """Poll until `fetch()` returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def _listing(title: str) -> dict:
    return {
        "title": title,
        "summary": "Clean up a survey export",
        "brief": "Turn the survey export into a tidy table and a one-page summary.",
        "deliverables": ["A tidy CSV", "A one-page summary"],
        "skills": ["Python", "Pandas"],
        "category": "data",
        "duration_days": 10,
        "effort_hours": 40,
        "stipend": {"amount": "8000", "currency": "INR"},
        "seats": 5,
        "apply_by": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400)),
        "screening_questions": ["Which tools do you use?"],
    }


@pytest.fixture(scope="module", autouse=True)
def hypothesis_home(tmp_path_factory):
    """Hypothesis keeps a cache under its home directory (./.hypothesis by default): keep it out of the work tree."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
def tokens():
    """One bearer token per role, for the people who own the seeded data."""
    return {
        role: mint_token(
            TEST_SECRET, role=role, name=person["sub"].title(), email=f"{person['sub']}@example.org", **person
        )
        for role, person in PEOPLE.items()
    }


def _published_listings(platform, tokens) -> list[str]:
    """A registered, verified organisation with two published listings."""
    employer = tokens["employer"]
    _call(platform, "PUT", "listing", "/orgs/me", employer, json=PROFILE)
    _call(platform, "POST", "listing", f"/orgs/{PEOPLE['employer']['org']}/verify", tokens["admin"])
    listings = []
    for title in ("Survey cleanup", "Survey charts"):
        listing = _call(platform, "POST", "listing", "/listings", employer, json=_listing(title))
        _call(platform, "POST", "listing", f"/listings/{listing['id']}/publish", employer)
        listings.append(listing["id"])
    return listings


def _applied(platform, student: str, listing_id: str) -> str:
    """The student's application, once the application service has heard of the listing through Kafka."""
    body = {"listing_id": listing_id, "cover_note": "I clean data daily.", "answers": ["Python and Pandas"]}

    def apply():
        url = platform.url("application", "/applications")
        response = platform.http.post(url, json=body, headers=auth_header(student), timeout=30)
        return response.json() if response.status_code == 201 else None

    return _eventually(apply, "the application service knowing the listing")["id"]


def _issued_credential(platform, tokens, application_id: str) -> str:
    """Accept, submit, approve; the uuid of the credential the certification service issues for it."""
    employer, student = tokens["employer"], tokens["student"]
    base = f"/applications/{application_id}"
    _call(platform, "POST", "application", f"{base}/accept", employer)
    work = {"links": ["https://conf.example/work"], "notes": "Done.", "hours_spent": 30}
    _call(platform, "POST", "application", f"{base}/submissions", student, json=work)
    review = {"decision": "approve", "feedback": "Tidy.", "rating": 5, "hours_verified": 30}
    _call(platform, "POST", "application", f"{base}/review", employer, json=review)
    mine = _eventually(
        lambda: _call(platform, "GET", "certification", "/credentials?mine=1", student)["items"], "the credential"
    )
    return mine[0]["id"].removeprefix("urn:uuid:")


def _inbox_entry(platform, bearer: str) -> str:
    """The id of an entry in the caller's inbox (the events of the flow above put some there)."""
    entries = _eventually(lambda: _call(platform, "GET", "notification", "/notifications", bearer)["items"], "an entry")
    return entries[0]["id"]


@pytest.fixture(scope="module")
def known(platform, tokens):
    """Real data for generated requests to hit: listings, applications, a credential, inbox entries, a webhook."""
    listings = _published_listings(platform, tokens)
    applications = [_applied(platform, tokens["student"], listing_id) for listing_id in listings]
    credential_uuid = _issued_credential(platform, tokens, applications[0])
    document = _call(platform, "GET", "certification", f"/credentials/{credential_uuid}")
    status_list = document["credentialStatus"]["statusListCredential"].rsplit("/", 1)[-1]
    hook = {"url": "http://127.0.0.1:9/hook", "secret": "conformance-secret-1234", "event_types": [REVOKED]}
    webhook = _call(platform, "POST", "notification", "/webhooks", tokens["employer"], json=hook)
    return {
        "path": {
            "org_id": [PEOPLE["employer"]["org"]],
            "listing_id": listings,
            "application_id": applications,
            "credential_id": [credential_uuid, f"urn:uuid:{credential_uuid}"],
            "list_id": [status_list],
            "entry_id": [_inbox_entry(platform, tokens["student"]), _inbox_entry(platform, tokens["employer"])],
            "webhook_id": [webhook["id"]],
        },
        "body": {
            "PUT /orgs/me": [PROFILE],
            "POST /listings": [_listing("Survey dashboards")],
            "PATCH /listings/{listing_id}": [{"summary": "Clean up and chart a survey export"}],
            "POST /applications": [{"listing_id": listings[1], "cover_note": "Again.", "answers": ["Python"]}],
            "POST /applications/{application_id}/review": [{"decision": "request_changes", "feedback": "More."}],
            "POST /credentials/{credential_id}/credit-decisions": [
                {"decision": "accepted", "credits_awarded": 1, "course_code": "DS101", "term": "2026-S1"}
            ],
            "POST /credentials/{credential_id}/revoke": [{"reason": "Issued to the wrong person"}],
            "POST /verify": [document],
            "POST /verify/batch": [{"items": [{"id": f"urn:uuid:{credential_uuid}"}, {"credential": document}]}],
        },
    }


def _sometimes_known(known: dict):
    """A case hook: the generated request, or the same with real ids in its path and/or a real body.

    Hooked on whole cases, so Schemathesis re-validates a changed case: a negative case whose only invalid part was
    replaced by a real value counts as positive from then on.
    """

    def flatmap_case(context, case):
        names = [name for name in case.path_parameters or {} if name in known["path"]]
        bodies = known["body"].get(f"{case.method.upper()} {case.operation.path}")
        if not names and not bodies:
            return st.just(case)

        def apply(choice):
            swap_path, path_values, swap_body, body = choice
            if swap_path and path_values:
                case.path_parameters = {**case.path_parameters, **path_values}
            if swap_body and bodies:
                case.body = copy.deepcopy(body)
            return case

        real_path = st.fixed_dictionaries({name: st.sampled_from(known["path"][name]) for name in names})
        real_body = st.sampled_from(bodies) if bodies else st.none()
        return st.tuples(st.booleans(), real_path, st.booleans(), real_body).map(apply)

    return flatmap_case


def _schema_of(platform, service: str, bearer: str, known: dict):
    """The service's OpenAPI document as served, without the catch-all `default` responses, ready to run."""
    raw = requests.get(platform.url(service, "/openapi.json"), timeout=10).json()
    for item in raw["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("default", None)
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {
            "base-url": platform.url(service),
            "headers": {"Authorization": f"Bearer {bearer}"},
            "workers": 1,
            "request-timeout": 30,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
            "cache": {"enabled": False},
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema.hook("flatmap_case")(_sometimes_known(known))
    return schema


def _problems(schema) -> tuple[list[str], int]:
    """Run every phase; return each distinct failure or error (with a curl line to reproduce it) and the cases run."""
    problems, cases = {}, 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        key = (event.label, failure.title, failure.message[:200])
                        reproduce = check.failure_info.code_sample
                        problems.setdefault(
                            key, f"{event.label}: {failure.title}\n{failure.message[:1500]}\n{reproduce}"
                        )
        elif isinstance(event, events.NonFatalError):
            problems.setdefault((event.label, "error", str(event.value)[:200]), f"{event.label}: {event.info}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return list(problems.values()), cases


@pytest.mark.parametrize(("service", "role"), SERVICE_ROLES, ids=[f"{s}-as-{r}" for s, r in SERVICE_ROLES])
def test_every_answer_is_documented_and_none_is_a_server_error(platform, known, tokens, service, role):
    problems, cases = _problems(_schema_of(platform, service, tokens[role], known))
    assert cases > 0
    assert not problems, f"{len(problems)} problems in {cases} generated requests:\n\n" + "\n\n".join(problems)
