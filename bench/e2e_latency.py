"""End-to-end latency of the platform: from the employer's approval to the student seeing the credential and being told.

For each of N approvals sent at a steady rate, two times from the moment `POST /applications/{id}/review` (approve)
returns: until the credential is stored and on the student's list (`GET /credentials?mine=1`; the certification
worker's handled-event note, written right after), and until the "credential issued" inbox entry is stored (its
`created_at`). Both are the services' own clock stamps (same machine), read once the approvals are over: a watcher
polling every student's pages fast enough to time them itself loaded the two cores about as much as the pipeline did
(each inbox page is an index read and a read per entry), and its rounds added seconds.

The path crosses Kafka twice (work.approved → certification, certificate.issued → notification), each event
published by the process that stored it (or, with STINT_PUBLISH_ON_WRITE=0, by an outbox relay), so the broker's own
produce → consume latency (kafka-python, acks=all, a consumer in a group, same broker, same run) is measured next to
it as the floor.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from bench.support import Platform, call, summary, token, wait_for, wait_until_quiet

WATCH_PAUSE = 1.0  # seconds between looks once the approvals are over
ISSUED = "stint.certificate.issued.v1"
MAX_SEATS = 50  # per listing (docs/listing.md)
PREPARERS = 4


@dataclass
class Approval:
    """One student's accepted, submitted application waiting for the employer's approval, and what we saw after."""

    application_id: str
    student: str
    approved_at: float = 0.0  # time.monotonic() when the approval's answer came back
    approved_wall: float = 0.0  # the same moment on the wall clock the services stamp their documents with
    credential_ms: float | None = None  # the certification worker's note that it handled the approval
    inbox_ms: float | None = None  # the inbox entry's created_at (stamped just before it was stored)


@dataclass
class Employer:
    """The employer (and the admin who verified the organisation) the approvals come from."""

    bearer: str
    listings: list[str] = field(default_factory=list)


def listing_fields(title: str, seats: int = MAX_SEATS) -> dict:
    """A valid listing without screening questions."""
    return {
        "title": title,
        "summary": "Tidy a data export and chart it",
        "brief": "Clean the export, chart the three main trends and write a one-page summary.",
        "deliverables": ["A tidy CSV", "Three charts", "A one-page summary"],
        "skills": ["Python", "Pandas", "Data"],
        "category": "data",
        "duration_days": 14,
        "effort_hours": 40,
        "stipend": {"amount": "9000", "currency": "INR"},
        "seats": seats,
        "apply_by": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }


def published_employer(platform: Platform, http: requests.Session, listings: int, org: str) -> Employer:
    """Register and verify an organisation, publish `listings` listings; wait until applications can reach them."""
    employer = Employer(token("employer", sub=f"{org}-hr", org=org))
    admin = token("admin")
    profile = {"name": f"{org.title()} Ltd", "website": "https://bench.example", "registration_id": "BENCH-1"}
    call(http, "PUT", platform.url("listing", "/orgs/me"), 200, employer.bearer, json=profile)
    call(http, "POST", platform.url("listing", f"/orgs/{org}/verify"), 200, admin)
    for number in range(listings):
        created = call(
            http,
            "POST",
            platform.url("listing", "/listings"),
            201,
            employer.bearer,
            json=listing_fields(f"Bench {number}"),
        )
        call(http, "POST", platform.url("listing", f"/listings/{created['id']}/publish"), 200, employer.bearer)
        employer.listings.append(created["id"])
    return employer


def apply_when_known(platform: Platform, http: requests.Session, listing_id: str, student: str) -> dict:
    """Apply, retrying while the application service has not yet heard of the listing through Kafka."""

    def attempt():
        response = http.post(
            platform.url("application", "/applications"),
            json={"listing_id": listing_id, "cover_note": "I would like to do this.", "answers": []},
            headers={"Authorization": f"Bearer {student}"},
            timeout=30,
        )
        if response.status_code == 201:
            return response.json()
        if response.status_code != 422:  # 422 listing_not_found until the listing event arrives
            raise RuntimeError(f"apply answered {response.status_code}: {response.text[:300]}")
        return None

    return wait_for(attempt, 60, "the application service learning of the listing", interval=0.2)


def prepare(platform: Platform, count: int) -> tuple[Employer, list[Approval]]:
    """`count` students, each accepted on a listing and with work submitted, ready for approval."""
    http = requests.Session()
    listings = -(-count // MAX_SEATS)
    employer = published_employer(platform, http, listings, f"lat{uuid.uuid4().hex[:6]}")
    sessions = threading.local()

    def ready(number: int) -> Approval:
        http = getattr(sessions, "http", None) or requests.Session()
        sessions.http = http
        student = token("student", sub=f"lat-student-{uuid.uuid4().hex[:8]}")
        application = apply_when_known(platform, http, employer.listings[number // MAX_SEATS], student)
        base = platform.url("application", f"/applications/{application['id']}")
        call(http, "POST", base + "/accept", 200, employer.bearer)
        work = {"links": ["https://bench.example/work"], "notes": "Done.", "hours_spent": 30}
        call(http, "POST", base + "/submissions", 201, student, json=work)
        return Approval(application["id"], student)

    # A few at a time: 1,200 approvals (20/s for a minute) took longer to prepare one by one than to measure.
    with ThreadPoolExecutor(PREPARERS) as pool:
        approvals = list(pool.map(ready, range(count)))
    return employer, approvals


def _collect(platform: Platform, approvals: list[Approval], timeout: float) -> None:
    """After the last approval: wait until the last student's inbox shows "credential issued", then read every
    student's entry stamp (again for those not there yet) until all are in or `timeout` passes. Nothing polls while
    the approvals run: each inbox page is an index read and one read per entry, and a watcher polling them all
    every second was a sizeable part of the database's work."""
    http = requests.Session()
    deadline = time.monotonic() + timeout

    def stamp(approval: Approval) -> bool:
        headers = {"Authorization": f"Bearer {approval.student}"}
        inbox = http.get(platform.url("notification", "/notifications?unread=1"), headers=headers, timeout=30)
        told = [e for e in inbox.json()["items"] if e["event_type"] == ISSUED] if inbox.ok else []
        if told:
            approval.inbox_ms = _since(approval, told[0]["created_at"])
        return bool(told)

    while approvals and not stamp(approvals[-1]) and time.monotonic() < deadline:
        time.sleep(WATCH_PAUSE)
    waiting = [a for a in approvals if a.inbox_ms is None]
    while waiting and time.monotonic() < deadline:
        waiting = [a for a in waiting if not stamp(a)]
        if waiting:
            time.sleep(WATCH_PAUSE)


def _since(approval: Approval, stamp: str | datetime) -> float:
    """Milliseconds from the approval's answer to a time a service stamped on what it stored (same machine clock)."""
    moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return (moment.timestamp() - approval.approved_wall) * 1000


def note_issuing_times(platform: Platform, approvals: list[Approval]) -> None:
    """Read when the certification worker finished each approval: its handled-event note, written right after the
    credential was stored and listed (the credential's own issued_at is cut to the second, as the document shows)."""
    from shared.config import load_settings
    from shared.consumer import HANDLED_EVENTS
    from shared.mongo import connect

    db = connect(load_settings("certification", environ={**os.environ, **platform.env}))
    by_application = {a.application_id: a for a in approvals}
    query = {"type": "stint.work.approved.v1", "subject": {"$in": list(by_application)}}
    for note in db[HANDLED_EVENTS].find(query, {"subject": 1, "handled_at": 1}):
        approval = by_application[note["subject"]]
        approval.credential_ms = _since(approval, note["handled_at"].replace(tzinfo=UTC))


def approve_at_steady_rate(platform: Platform, employer: Employer, approvals: list[Approval], interval: float) -> None:
    """Approve one application every `interval` seconds, then collect when each result was stored."""
    http = requests.Session()
    review = {"decision": "approve", "feedback": "Clear and tidy.", "rating": 5, "hours_verified": 30}
    started = time.monotonic()
    for number, approval in enumerate(approvals):
        time.sleep(max(0.0, started + number * interval - time.monotonic()))
        url = platform.url("application", f"/applications/{approval.application_id}/review")
        call(http, "POST", url, 200, employer.bearer, json=review)
        approval.approved_at, approval.approved_wall = time.monotonic(), time.time()
    _collect(platform, approvals, 120)


def _assigned_consumer(bootstrap: str, topic: str, attempts: int = 3):
    """A group consumer of `topic` with its partitions assigned. Twice in a day's runs (2026-12-01), right after the
    platform started, a consumer was never assigned a partition within 60 s though the broker served everyone else;
    not reproduced since (16 tries). A consumer of a new group is tried again rather than losing the whole run."""
    from kafka import KafkaConsumer

    for attempt in range(1, attempts + 1):
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap.split(","), group_id=f"{topic}-group-{attempt}", auto_offset_reset="latest"
        )
        consumer.subscribe([topic])
        try:
            wait_for(lambda c=consumer: c.poll(timeout_ms=200) is not None and c.assignment(), 30, "a partition")
        except TimeoutError:
            consumer.close()
            print(f"bench: the broker's baseline consumer (try {attempt} of {attempts}) got no partition in 30 s")
            continue
        return consumer
    raise TimeoutError(f"a partition for the broker's baseline consumer: none in {attempts} tries of 30 s")


def kafka_baseline(bootstrap: str, topic: str, count: int, interval: float) -> list[float]:
    """Milliseconds from send to receipt of `count` small messages: producer acks=all, one consumer in a group."""
    from kafka import KafkaProducer

    from shared.consumer import ensure_topics

    ensure_topics(bootstrap, [topic])
    consumer = _assigned_consumer(bootstrap, topic)
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=0)
    sent: dict[bytes, float] = {}
    received: dict[bytes, float] = {}
    try:
        stop = threading.Event()

        def consume():
            while not stop.is_set():
                for records in consumer.poll(timeout_ms=100).values():
                    now = time.monotonic()
                    for record in records:
                        received.setdefault(record.value, now)

        reader = threading.Thread(target=consume)
        reader.start()
        started = time.monotonic()
        for number in range(count):
            time.sleep(max(0.0, started + number * interval - time.monotonic()))
            key = str(number).encode()
            sent[key] = time.monotonic()
            producer.send(topic, key=key, value=key)
        producer.flush()
        wait_for(lambda: len(received) >= count, 30, "every message consumed", interval=0.05)
        stop.set()
        reader.join()
    finally:
        producer.close(timeout=5)
        consumer.close()
    return [(received[key] - sent[key]) * 1000 for key in sent if key in received]


def publishes_on_write(platform: Platform) -> bool:
    """Whether the platform's processes publish on write (they inherit this process's environment)."""
    from shared.config import load_settings

    return load_settings("application", environ={**os.environ, **platform.env}).publish_on_write


def run(
    platform: Platform, count: int, interval: float, kafka_count: int, kafka_interval: float
) -> tuple[dict, list[Approval]]:
    """Measure the broker baseline, then the approvals; return the numbers and the approvals."""
    kafka = kafka_baseline(platform.bootstrap, f"{platform.namespace}.bench-latency", kafka_count, kafka_interval)
    employer, approvals = prepare(platform, count)
    # The preparation's own work (inbox entries and emails for every application, acceptance and submission) runs
    # on for a while after its last answer: the approvals start once it is done.
    quiet_after = wait_until_quiet(platform)
    approve_at_steady_rate(platform, employer, approvals, interval)
    note_issuing_times(platform, approvals)
    credential = [a.credential_ms for a in approvals if a.credential_ms is not None]
    inbox = [a.inbox_ms for a in approvals if a.inbox_ms is not None]
    numbers = {
        "kafka": summary(kafka),
        "credential": summary(credential),
        "inbox": summary(inbox),
        "approvals": count,
        "interval": interval,
        "kafka_interval": kafka_interval,
        "missing": count - min(len(credential), len(inbox)),
        "publish_on_write": publishes_on_write(platform),
        "quiet_after": quiet_after,
    }
    return numbers, approvals
