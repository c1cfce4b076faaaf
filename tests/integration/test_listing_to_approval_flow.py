"""One micro-internship end to end through the listing and application services and the real broker.

org registered and verified → listing published → (listing outbox relayed → application read model) →
student applies → shortlisted → accepted → (application outbox relayed → listing counts the seat and
closes → application read model follows) → work submitted → changes requested → resubmitted → approved.
The two services share nothing but Kafka: no HTTP call, no database, no import between them.
"""

from __future__ import annotations

import ast
import time
from collections import defaultdict
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from services.application import store as application_store
from services.application.app import create_app as create_application_app
from services.application.worker import HANDLERS as APPLICATION_HANDLERS
from services.listing import store as listing_store
from services.listing.app import create_app as create_listing_app
from services.listing.worker import HANDLERS as LISTING_HANDLERS
from shared.events import parse_event
from shared.worker import bind_handlers
from tests.support.pipeline import consume_until, consumer_for, create_topics, publish_pending
from tests.support.samples import listing_body

ORG = "org-acme"
APPLICATION_SOURCES = Path(__file__).resolve().parents[2] / "services" / "application"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def read_all_events(settings, expected: int, timeout: float = 30.0) -> list:
    """Every message on the test's listing and application topics, in partition order."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        topics = [settings.topic("listing"), settings.topic("application")]
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records, deadline = [], time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def test_a_listing_goes_from_publication_to_approved_work_over_kafka_alone(settings_for, token):
    listing_settings, application_settings = settings_for("listing"), settings_for("application")
    create_topics(application_settings)
    listing_app, application_app = create_listing_app(listing_settings), create_application_app(application_settings)
    listing_http, application_http = listing_app.test_client(), application_app.test_client()
    listing_db, application_db = listing_app.extensions["stint_db"], application_app.extensions["stint_db"]
    employer = token("employer", sub="emp-carla", org=ORG, name="Carla Diaz", email="carla@acme.example")
    student = token("student", sub="stu-asha", name="Asha Rao", email="asha@uni.example")
    read_model = consumer_for(
        application_settings, application_db, ["listing"], bind_handlers(APPLICATION_HANDLERS, application_db)
    )
    seat_counter = consumer_for(
        listing_settings, listing_db, ["application"], bind_handlers(LISTING_HANDLERS, listing_db)
    )
    try:
        # the organisation registers, an admin verifies it, the employer publishes a one-seat listing
        org = {"name": "Acme Analytics", "website": "https://acme.example", "registration_id": "U72900KA2020PTC123456"}
        ok(listing_http.put("/orgs/me", json=org, headers=bearer(employer)))
        ok(listing_http.post(f"/orgs/{ORG}/verify", headers=bearer(token("admin", sub="ops"))))
        draft = listing_body(
            title="Clean up a sales dashboard",
            summary="Make the weekly sales dashboard fast and clear",
            skills=["SQL", "Data visualisation"],
            seats=1,
            screening_questions=["Which BI tools have you used?"],
        )
        listing_id = ok(listing_http.post("/listings", json=draft, headers=bearer(employer)), 201)["id"]
        ok(listing_http.post(f"/listings/{listing_id}/publish", headers=bearer(employer)))

        # the application service learns of the listing only from its events
        publish_pending(listing_settings, listing_store.outbox_collections(listing_db))
        consume_until(read_model, lambda: application_store.find_listing(application_db, listing_id) is not None)
        assert application_store.find_listing(application_db, listing_id)["status"] == "published"

        # the student applies; the employer shortlists and accepts
        apply = {"listing_id": listing_id, "cover_note": "I speed up dashboards.", "answers": ["Metabase, Superset"]}
        application_id = ok(application_http.post("/applications", json=apply, headers=bearer(student)), 201)["id"]
        ok(application_http.post(f"/applications/{application_id}/shortlist", headers=bearer(employer)))
        ok(application_http.post(f"/applications/{application_id}/accept", headers=bearer(employer)))

        # the listing service counts the seat from the event and closes the full listing; the read model follows
        publish_pending(application_settings, [application_db[application_store.APPLICATIONS]])
        consume_until(seat_counter, lambda: listing_db.listings.find_one({"_id": listing_id})["status"] == "closed")
        publish_pending(listing_settings, listing_store.outbox_collections(listing_db))
        consume_until(
            read_model, lambda: application_store.find_listing(application_db, listing_id)["status"] == "closed"
        )
        listing_view = ok(listing_http.get(f"/listings/{listing_id}"))
        followed = application_store.find_listing(application_db, listing_id)
        assert (followed["version"], followed["seats_filled"]) == (listing_view["version"], 1)

        # work: submitted, changes requested, resubmitted, approved
        work = {"links": ["https://github.com/asha/dashboard"], "notes": "Indexed and cached.", "hours_spent": 30}
        ok(
            application_http.post(f"/applications/{application_id}/submissions", json=work, headers=bearer(student)),
            201,
        )
        changes = {"decision": "request_changes", "feedback": "Add a legend to each chart."}
        ok(application_http.post(f"/applications/{application_id}/review", json=changes, headers=bearer(employer)))
        work = {**work, "notes": "Legends added.", "hours_spent": 34}
        ok(
            application_http.post(f"/applications/{application_id}/submissions", json=work, headers=bearer(student)),
            201,
        )
        approval = {"decision": "approve", "feedback": "Fast and clear.", "rating": 5, "hours_verified": 34}
        approved = ok(
            application_http.post(f"/applications/{application_id}/review", json=approval, headers=bearer(employer))
        )
        assert approved["status"] == "approved"
        publish_pending(application_settings, [application_db[application_store.APPLICATIONS]])
    finally:
        read_model.close()
        seat_counter.close()

    records = read_all_events(application_settings, expected=11)
    events_by_key = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        event = parse_event(record.value)  # every message matches the catalog
        assert record.key.decode() == event["subject"]
        events_by_key[event["subject"]].append(event)

    assert [e["type"] for e in events_by_key[ORG]] == ["stint.org.registered.v1", "stint.org.verified.v1"]
    assert [e["type"] for e in events_by_key[listing_id]] == ["stint.listing.published.v1", "stint.listing.closed.v1"]
    assert [e["type"] for e in events_by_key[application_id]] == [
        "stint.application.submitted.v1",
        "stint.application.shortlisted.v1",
        "stint.application.accepted.v1",
        "stint.work.submitted.v1",
        "stint.work.changes_requested.v1",
        "stint.work.submitted.v1",
        "stint.work.approved.v1",
    ]
    approved_event = events_by_key[application_id][-1]["data"]
    assert approved_event["listing"]["org_website"] == "https://acme.example"
    assert approved_event["listing"]["skills"] == listing_view["skills"]
    assert approved_event["hours_verified"] == 34
    assert approved_event["submission"]["digest"] == approved["submissions"][-1]["digest"]
    assert approved_event["round"] == 2


def test_the_application_service_never_reaches_into_another_service():
    """No import of another service and no HTTP client: what it knows of listings comes from events."""
    forbidden = ("services.listing", "services.certification", "services.notification", "requests", "urllib", "http")
    for path in APPLICATION_SOURCES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
