"""What the failure drills share: HTTP calls to the running platform, a cohort of students whose work waits for
approval, a burst of approvals in the background, and the checks that every effect happened exactly once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import requests
from pymongo.database import Database

from shared.config import load_settings
from shared.locks import LOCKS, STALE_LOCK_SECONDS
from shared.mongo import connect

HTTP_TIMEOUT = 10.0
# The platform runs two gunicorn workers per service on two shared cores: a few parallel clients keep it busy.
CLIENT_THREADS = 4
ISSUED = "stint.certificate.issued.v1"
APPROVED = "stint.work.approved.v1"
ACCEPTED = "stint.application.accepted.v1"
HOURS_VERIFIED = 30
# A dead process's document lock is taken over after shared.locks.STALE_LOCK_SECONDS (30 s).
BUSY_RETRY_SECONDS = 45
APPROVAL = {"decision": "approve", "feedback": "Solid.", "rating": 5, "hours_verified": HOURS_VERIFIED}


class PlatformClient:
    """HTTP calls to the platform's services, one keep-alive session per thread."""

    def __init__(self, platform):
        self.platform = platform
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def request(
        self, service: str, method: str, path: str, bearer: str | None = None, body=None, timeout=HTTP_TIMEOUT
    ) -> requests.Response:
        """Send one request; the caller judges the answer."""
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return self._session().request(
            method, self.platform.url(service, path), json=body, headers=headers, timeout=timeout
        )

    def ok(self, service: str, method: str, path: str, bearer: str | None = None, body=None, status: int = 200):
        """Send one request that must succeed with `status`; return its JSON body."""
        response = self.request(service, method, path, bearer, body)
        assert response.status_code == status, f"{method} {service}{path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def pages(self, service: str, path: str, bearer: str) -> list[dict]:
        """Every item of a paginated list."""
        items, cursor = [], None
        while True:
            separator = "&" if "?" in path else "?"
            page_path = f"{path}{separator}limit=100" + (f"&cursor={quote(cursor)}" if cursor else "")
            page = self.ok(service, "GET", page_path, bearer)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items


def wait_until(condition: Callable[[], object], timeout: float, what: str, pause: float = 0.3):
    """Poll `condition` until it returns something truthy; fail saying `what` did not happen in time."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f}s")
        time.sleep(pause)


def in_parallel(work: Callable, items: list, threads: int = CLIENT_THREADS) -> list:
    """Run work(item) for every item on a few threads; return the results in order (the first error raises)."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(work, items))


# ---- a cohort: one verified organisation, one listing, students whose work waits for approval ---------------


@dataclass(frozen=True)
class Student:
    """A student of a cohort, with the application whose submitted work waits for review."""

    sub: str
    email: str
    bearer: str
    application_id: str


@dataclass
class Cohort:
    """One organisation's listing and its students (all accepted, all with work submitted)."""

    tag: str
    org: str
    employer: str
    listing_id: str
    title: str
    students: list[Student] = field(default_factory=list)


def listing_draft(title: str, seats: int) -> dict:
    """A listing an employer could write, with `seats` seats."""
    return {
        "title": title,
        "summary": "Survive the failure drills",
        "brief": "Keep every effect exactly once while the platform's parts die and come back.",
        "deliverables": ["a drill report"],
        "skills": ["Reliability"],
        "category": "testing",
        "duration_days": 14,
        "effort_hours": 40,
        "stipend": {"amount": "1000.00", "currency": "INR"},
        "seats": seats,
        "apply_by": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "screening_questions": [],
    }


def open_listing(client: PlatformClient, token, tag: str, seats: int) -> Cohort:
    """A verified organisation publishes a listing; returns the cohort, still without students."""
    org = f"org-{tag}"
    employer = token("employer", sub=f"emp-{tag}", org=org, name="Drill Employer", email=f"emp-{tag}@acme.example")
    profile = {"name": f"Drill Co {tag}", "website": "https://drill.example", "registration_id": f"REG-{tag}"}
    client.ok("listing", "PUT", "/orgs/me", employer, profile)
    client.ok("listing", "POST", f"/orgs/{org}/verify", token("admin", sub="ops-drills"))
    title = f"Drill {tag}"
    listing = client.ok("listing", "POST", "/listings", employer, listing_draft(title, seats), status=201)
    client.ok("listing", "POST", f"/listings/{listing['id']}/publish", employer)
    return Cohort(tag=tag, org=org, employer=employer, listing_id=listing["id"], title=title)


def apply(client: PlatformClient, cohort: Cohort, bearer: str) -> requests.Response:
    """A student applies to the cohort's listing."""
    body = {"listing_id": cohort.listing_id, "cover_note": "I keep systems honest.", "answers": []}
    return client.request("application", "POST", "/applications", bearer, body)


def wait_for_listing_to_reach_applications(client: PlatformClient, cohort: Cohort, token) -> Student:
    """The application service learns of a listing from its event: poll until it takes applications.

    Returns the probe student whose application showed it (it stays `applied`).
    """
    sub = f"probe-{cohort.tag}"
    probe = token("student", sub=sub)

    def applied() -> requests.Response | None:
        response = apply(client, cohort, probe)
        assert response.status_code in (201, 422), response.text
        return response if response.status_code == 201 else None

    response = wait_until(applied, 60, "the listing reaching the application service")
    return Student(sub, "", probe, response.json()["id"])


def sign_up(client: PlatformClient, token, cohort: Cohort, n: int) -> Student:
    """The cohort's n-th student applies to its listing."""
    sub, email = f"stu-{cohort.tag}-{n:02d}", f"stu-{cohort.tag}-{n:02d}@uni.example"
    bearer = token("student", sub=sub, name=f"Student {n:02d}", email=email)
    response = apply(client, cohort, bearer)
    assert response.status_code == 201, response.text
    return Student(sub, email, bearer, response.json()["id"])


def enrol(client: PlatformClient, token, tag: str, size: int, seats: int | None = None) -> Cohort:
    """A cohort of `size` students who applied, were accepted and submitted their work, ready for approval.

    The listing has `seats` seats (default: just enough, so it closes once the cohort is accepted).
    """
    cohort = open_listing(client, token, tag, seats=seats or size)
    wait_for_listing_to_reach_applications(client, cohort, token)

    def enrol_one(n: int) -> Student:
        student = sign_up(client, token, cohort, n)
        client.ok("application", "POST", f"/applications/{student.application_id}/accept", cohort.employer)
        work = {"links": [f"https://git.example/{student.sub}"], "notes": "Done.", "hours_spent": HOURS_VERIFIED}
        path = f"/applications/{student.application_id}/submissions"
        client.ok("application", "POST", path, student.bearer, work, status=201)
        return student

    cohort.students = in_parallel(enrol_one, list(range(size)))
    return cohort


def is_busy(response: requests.Response) -> bool:
    """A 503 saying another writer holds the document: retry shortly."""
    if response.status_code != 503:
        return False
    return response.json().get("error", {}).get("code") == "document_busy"


def decide(client: PlatformClient, cohort: Cohort, student: Student, action: str, body=None, busy=None) -> int | str:
    """The employer POSTs `action` on a student's application; return the answer's status (or the client's error).

    Like a client should, it retries an answer `503 document_busy`: a process died holding the application's write
    lock, which is taken over once stale (docs/architecture.md). Each such answer is noted in `busy`.
    """
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    path = f"/applications/{student.application_id}/{action}"
    while True:
        try:
            response = client.request("application", "POST", path, cohort.employer, body)
        except requests.RequestException as exc:
            return repr(exc)
        if not (is_busy(response) and time.monotonic() < deadline):
            return response.status_code
        if busy is not None:
            busy.append(student.sub)
        time.sleep(float(response.headers.get("Retry-After", 1)))  # a client's pause before retrying


def approve(client: PlatformClient, cohort: Cohort, student: Student, busy: list | None = None) -> int | str:
    """The employer approves a student's work (see `decide`)."""
    return decide(client, cohort, student, "review", APPROVAL, busy)


def accept(client: PlatformClient, cohort: Cohort, student: Student, busy: list | None = None) -> int | str:
    """The employer accepts a student's application, which takes a seat (see `decide`)."""
    return decide(client, cohort, student, "accept", None, busy)


class EmployerBurst:
    """The employer decides on every student of a cohort (`approve` by default) from background threads, counting
    the answers as they come."""

    def __init__(self, client: PlatformClient, cohort: Cohort, action: Callable = approve):
        self.client, self.cohort, self.action = client, cohort, action
        self.statuses: dict[str, int | str] = {}
        self.busy: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"{action.__name__}-{cohort.tag}", daemon=True)

    def start(self) -> EmployerBurst:
        """Begin sending the decisions."""
        self._thread.start()
        return self

    def _decide(self, student: Student) -> None:
        outcome = self.action(self.client, self.cohort, student, self.busy)
        with self._lock:
            self.statuses[student.sub] = outcome

    def _run(self) -> None:
        in_parallel(self._decide, self.cohort.students)

    def answered(self) -> int:
        """How many decisions have been answered so far."""
        with self._lock:
            return len(self.statuses)

    def wait_answered(self, count: int, timeout: float = 60) -> None:
        """Block until `count` decisions have been answered."""
        wait_until(lambda: self.answered() >= count, timeout, f"{count} decisions answered", pause=0.02)

    def join(self, timeout: float = 120) -> dict[str, int | str]:
        """Wait for every answer; return them by student."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the decisions did not finish"
        return dict(self.statuses)


# ---- outcomes a student sees ----------------------------------------------------------------------------------


def credentials_of(client: PlatformClient, student: Student) -> list[dict]:
    """The student's own credentials (GET /credentials?mine=1)."""
    return client.pages("certification", "/credentials?mine=1", student.bearer)


def inbox_of(client: PlatformClient, student: Student) -> list[dict]:
    """The student's in-app inbox."""
    return client.pages("notification", "/notifications", student.bearer)


def wait_until_every_credential_arrives(client: PlatformClient, cohort: Cohort, timeout: float) -> float:
    """Poll until every student has a credential and an inbox entry for each of their events (accepted, approved,
    issued: the notification worker may reach one topic's backlog before another's); return the seconds."""
    started = time.monotonic()
    waiting = list(cohort.students)

    def served(student: Student) -> bool:
        has_credential = bool(credentials_of(client, student))
        return has_credential and {ACCEPTED, APPROVED, ISSUED} <= {e["event_type"] for e in inbox_of(client, student)}

    def all_served() -> bool:
        nonlocal waiting
        done = in_parallel(served, waiting)
        waiting = [student for student, ok in zip(waiting, done, strict=True) if not ok]
        return not waiting

    try:
        wait_until(all_served, timeout, "every student's credential and its notification", pause=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still waiting for {len(waiting)} of {len(cohort.students)} students") from None
    return time.monotonic() - started


def assert_every_effect_happened_once(client: PlatformClient, cohort: Cohort) -> None:
    """Each student has exactly one credential, for their application, and one inbox entry per event of theirs."""

    def effects(student: Student) -> tuple[list[dict], Counter]:
        return credentials_of(client, student), Counter(entry["event_type"] for entry in inbox_of(client, student))

    seen = in_parallel(effects, cohort.students)
    problems = []
    for student, (credentials, inbox) in zip(cohort.students, seen, strict=True):
        if [c["application_id"] for c in credentials] != [student.application_id]:
            problems.append(f"{student.sub}: credentials {[(c['id'], c['application_id']) for c in credentials]}")
        for event_type in (ACCEPTED, APPROVED, ISSUED):
            if inbox[event_type] != 1:
                problems.append(f"{student.sub}: {inbox[event_type]} inbox entries for {event_type}")
    assert not problems, "effects not exactly once:\n" + "\n".join(problems)
    credential_ids = {credential["id"] for credentials, _ in seen for credential in credentials}
    assert len(credential_ids) == len(cohort.students)


def credential_emails(platform, cohort: Cohort) -> dict[str, list[str]]:
    """For each student, the delivery ids of the "credential ready" emails received so far."""
    return {
        student.sub: [
            message["X-Stint-Delivery"]
            for message in platform.mail.to(student.email)
            if message["Subject"].startswith("Your credential for")
        ]
        for student in cohort.students
    }


def wait_for_credential_emails(platform, cohort: Cohort, timeout: float, allowed_missing: int = 0) -> float:
    """Poll until all but `allowed_missing` students got their "credential ready" email; return the seconds.

    No student may get two different ones (the same delivery twice would carry one X-Stint-Delivery).
    """
    started = time.monotonic()

    def arrived() -> bool:
        emails = credential_emails(platform, cohort)
        doubled = {sub: ids for sub, ids in emails.items() if len(set(ids)) > 1}
        assert not doubled, f"students with two different credential emails: {doubled}"
        return sum(1 for ids in emails.values() if not ids) <= allowed_missing

    wait_until(arrived, timeout, "the credential emails", pause=0.5)
    return time.monotonic() - started


# ---- processes ------------------------------------------------------------------------------------------------


class LogWatch:
    """Reads a process's JSON log lines written after the watch began."""

    def __init__(self, process):
        self.path: Path = process.data_dir / "stdout.log"
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def events(self, name: str, **match) -> list[dict]:
        """The log lines since the watch began whose `event` is `name` and whose fields match."""
        found = []
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            for raw in log:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if line.get("event") == name and all(line.get(k) == v for k, v in match.items()):
                    found.append(line)
        return found


def watch_workers(platform) -> dict[str, LogWatch]:
    """A log watch on every service's worker, from now on."""
    return {name: LogWatch(process) for name, process in platform.processes.items() if name.endswith("-worker")}


def redeliveries(watches: dict[str, LogWatch]) -> dict[str, int]:
    """How many redelivered events each worker recognised by id and skipped since its watch began."""
    return {name: len(watch.events("event_duplicate_skipped")) for name, watch in watches.items()}


def service_db(platform, service: str) -> Database:
    """A service's own database, as its processes open it: for aiming a kill, never for judging an outcome."""
    return connect(load_settings(service, platform.env))


def kill_holding_lock(process, db: Database, collection: str, document_id: str, within: float) -> bool:
    """SIGKILL `process` the moment a write lock of the document is held (it is the only writer meanwhile), or
    after `within` seconds; return whether the lock was held when it died."""
    locks, key = db[LOCKS], f"{collection}/{document_id}"
    deadline = time.monotonic() + within
    while locks.find_one({"_id": key}) is None and time.monotonic() < deadline:
        pass  # each look is a database round trip; the lock is held for milliseconds
    process.kill()
    return locks.find_one({"_id": key}) is not None


def restore(platform, servers, ready_timeout: float = 60) -> list[str]:
    """Bring back whatever a drill left down (servers first, then processes) and wait until every api is ready.

    Returns what it had to restart and any api still not ready, so a drill can assert it left the platform whole
    without hiding its own failure (this runs in a `finally`).
    """
    problems = []
    for server in (servers.kafka, servers.ferret):
        if server is not None and not server.is_running():
            server.restart()
            problems.append(f"{server.name} restarted")
    for name, process in platform.processes.items():
        if not process.is_running():
            platform.restart(name)
            problems.append(f"{name} restarted")
    deadline, unready = time.monotonic() + ready_timeout, list(platform.urls)
    while unready and time.monotonic() < deadline:
        unready = [service for service in unready if not _ready(platform, service)]
        if unready:
            time.sleep(0.5)
    _wait_for_locks_given_back(platform)
    return problems + [f"{service}-api not ready" for service in unready]


def _wait_for_locks_given_back(platform) -> None:
    """Let the next drill start clean: a lock a killed process held (or one a process could not give back while the
    database was away, and has not taken another lock since) is taken over only once stale; wait that out."""
    deadline = time.monotonic() + STALE_LOCK_SECONDS + 5
    for service in platform.urls:
        db = service_db(platform, service)
        try:
            while time.monotonic() < deadline:
                fresh = {"taken_at": {"$gt": datetime.now(UTC) - timedelta(seconds=STALE_LOCK_SECONDS)}}
                if not db[LOCKS].count_documents(fresh):  # a stale one is taken over by the next writer at once
                    break
                time.sleep(0.5)
        finally:
            db.client.close()


def _ready(platform, service: str) -> bool:
    try:
        return requests.get(platform.url(service, "/readyz"), timeout=HTTP_TIMEOUT).status_code == 200
    except requests.RequestException:
        return False


def unique_tag(prefix: str) -> str:
    """A short tag for a drill's organisation, listing and students."""
    return f"{prefix}{uuid.uuid4().hex[:6]}"


# ---- steady load on every service ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request of a load: what it is for, and what to look for afterwards when it succeeded."""

    action: str
    method: str
    path: str
    bearer: str | None = None
    body: dict | None = None
    subject: object = None


@dataclass(frozen=True)
class Answer:
    """What one request of a load got back, and how long it took."""

    service: str
    call: Call
    status: int | None
    seconds: float
    sent_at: float
    body: object = None
    error: str | None = None


class ServiceLoad:
    """One thread per service sending `next_call(service, n)` after the other until stopped, keeping every answer."""

    def __init__(self, client: PlatformClient, next_call: dict[str, Callable[[int], Call]]):
        self.client, self.next_call = client, next_call
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(service,), name=f"load-{service}", daemon=True)
            for service in next_call
        ]

    def start(self) -> ServiceLoad:
        """Start sending."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> list[Answer]:
        """Stop after the requests in flight; return every answer."""
        self._stop.set()
        for thread in self._threads:
            thread.join(HTTP_TIMEOUT * 3)
        return list(self.answers)

    def _run(self, service: str) -> None:
        n = 0
        while not self._stop.is_set():
            call = self.next_call[service](n)
            sent_at = time.monotonic()
            try:
                response = self.client.request(service, call.method, call.path, call.bearer, call.body)
                status, error = response.status_code, None
                try:
                    body = response.json()
                except ValueError:
                    body = response.text[:300]
            except requests.RequestException as exc:
                status, body, error = None, None, repr(exc)[:300]
            answer = Answer(service, call, status, time.monotonic() - sent_at, sent_at, body, error)
            with self._lock:
                self.answers.append(answer)
            n += 1

    def answered(self, service: str, since: float = 0.0, status: Callable[[int | None], bool] = bool) -> int:
        """How many of a service's requests sent after `since` got a status that `status` accepts."""
        with self._lock:
            return sum(1 for a in self.answers if a.service == service and a.sent_at >= since and status(a.status))

    def succeeded(self, action: str) -> int:
        """How many requests for `action` succeeded so far."""
        with self._lock:
            return sum(1 for a in self.answers if a.call.action == action and a.status and 200 <= a.status < 300)

    def wait(self, services, timeout: float, what: str, since: float = 0.0, status=bool, count: int = 1) -> None:
        """Wait until each service has `count` answers sent after `since` whose status `status` accepts."""
        wait_until(lambda: all(self.answered(s, since, status) >= count for s in services), timeout, what, 0.1)
