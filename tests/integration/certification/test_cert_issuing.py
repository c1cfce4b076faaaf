"""Issuing on the real broker and database: one credential per application, however often it is delivered."""

from __future__ import annotations

import functools
import json
import threading

from kafka import KafkaConsumer

from services.certification import issuing, key_revocation, store
from services.certification.worker import BATCHED, HANDLERS, ready_runtime
from shared.events import encode_event, read_event
from shared.outbox import make_producer
from shared.worker import bind_handlers
from tests.integration.certification.conftest import approved_event
from tests.support.pipeline import consume_until, consumer_for, create_topics, publish_pending


def _publish_raw(settings, events: list[dict]) -> None:
    """Put events on the application topic, as the application service's relay would."""
    producer = make_producer(settings.kafka_bootstrap, "test-application-relay")
    try:
        for event in events:
            producer.send(settings.topic("application"), key=event["subject"].encode(), value=encode_event(event))
        producer.flush()
    finally:
        producer.close()


def _read_all(settings, topic: str, timeout_seconds: float = 5) -> list[dict]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout_seconds * 1000),
    )
    try:
        return [json.loads(message.value) for message in consumer]
    finally:
        consumer.close()


def test_the_worker_maps_work_approved_to_issuing_and_key_revoked_to_reissuing():
    assert {
        "stint.work.approved.v1": issuing.issue_credential,
        "stint.key.revoked.v1": key_revocation.reissue_signed_with_revoked_key,
    } == HANDLERS
    assert frozenset({"stint.work.approved.v1"}) == BATCHED  # a run of approvals goes to issuing.issue_credentials


def test_redelivered_and_repeated_work_approved_events_give_one_credential(cert_settings, runtime):
    create_topics(cert_settings)
    first = approved_event()
    same_application_new_event = approved_event(application_id=first["data"]["application_id"])
    other = approved_event()
    _publish_raw(cert_settings, [first, first, same_application_new_event, other])
    consumer = consumer_for(  # as the worker runs it: approvals side by side are issued a run at a time
        cert_settings,
        runtime.db,
        ["application"],
        bind_handlers(HANDLERS, runtime),
        batch_handler=functools.partial(issuing.issue_credentials, runtime),
        batched_types=BATCHED,
    )
    try:
        consume_until(consumer, lambda: runtime.db["handled_events"].count_documents({}) == 3)
    finally:
        consumer.close()
    assert runtime.db["credentials"].count_documents({"application_id": first["data"]["application_id"]}) == 1
    assert runtime.db["credentials"].count_documents({}) == 2

    assert publish_pending(cert_settings, store.outbox_collections(runtime.db)) == 2
    issued = [e for e in _read_all(cert_settings, cert_settings.topic("certification")) if "issued" in e["type"]]
    assert sorted(e["data"]["application_id"] for e in issued) == sorted(
        [first["data"]["application_id"], other["data"]["application_id"]]
    )
    event = next(e for e in issued if e["data"]["application_id"] == first["data"]["application_id"])
    assert event["type"] == "stint.certificate.issued.v1"
    assert event["data"]["hours"] == 45 and event["data"]["credits_recommended"] == 1.5
    assert event["data"]["verification_url"].startswith("http://verify.stint.test/verify/")
    assert event["subject"] == event["data"]["credential_id"]


def test_a_run_of_approvals_is_issued_at_once_one_credential_per_application(cert_settings, runtime):
    events = [approved_event() for _ in range(6)]
    again = approved_event(application_id=events[0]["data"]["application_id"])  # approved twice, a new event id
    run = [read_event(event) for event in [*events, events[1], again]]
    effects = issuing.issue_credentials(runtime, run)

    assert len(effects) == 8 and all("credential_id" in effect for effect in effects)
    assert effects[6] == effects[1] and effects[7] == {**effects[0], "already_issued": True}  # repeats: the same
    db = runtime.db
    assert db[store.CREDENTIALS].count_documents({}) == 6
    assert db["credential_documents"].count_documents({}) == 6
    student_id = events[0]["data"]["student"]["id"]
    listed, _ = store.credentials_page(db, student_id, 50, None)
    assert sorted(record["credential_id"] for record in listed) == sorted(e["credential_id"] for e in effects[:6])
    issued = [event["data"]["application_id"] for event in events]
    assert all(store.credential_for_application(db, application_id) for application_id in issued)  # noted
    assert publish_pending(cert_settings, store.outbox_collections(db)) == 6  # each certificate.issued once


def test_a_run_holding_an_approval_whose_issuer_died_before_its_note_gives_that_one_its_credential(runtime):
    event = approved_event()
    first = issuing.issue_credential(runtime, read_event(event))
    runtime.db[store.ISSUED_APPLICATIONS].delete_one({"_id": event["data"]["application_id"]})  # died before its note
    others = [approved_event() for _ in range(2)]
    effects = issuing.issue_credentials(runtime, [read_event(e) for e in [others[0], event, others[1]]])

    assert effects[1] == {"credential_id": first["credential_id"], "already_issued": True}
    assert runtime.db[store.CREDENTIALS].count_documents({}) == 3
    assert runtime.db["credential_documents"].count_documents({}) == 3  # the refused signing left nothing behind


def test_concurrent_deliveries_of_one_application_issue_one_credential(runtime):
    event = approved_event()
    errors = []

    def deliver():
        try:
            issuing.issue_credential(runtime, read_event(event))
        except Exception as exc:  # collected, so the test shows it
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert runtime.db["credentials"].count_documents({"application_id": event["data"]["application_id"]}) == 1


def test_an_approval_redelivered_after_an_issuer_died_before_noting_its_credential_gets_that_one(runtime):
    event = approved_event()
    first = issuing.issue_credential(runtime, read_event(event))
    runtime.db[store.ISSUED_APPLICATIONS].delete_one({"_id": event["data"]["application_id"]})  # died before its note
    again = issuing.issue_credential(runtime, read_event(event))
    assert again == {"credential_id": first["credential_id"], "already_issued": True}
    assert runtime.db["credentials"].count_documents({"application_id": event["data"]["application_id"]}) == 1
    assert runtime.db["credential_documents"].count_documents({}) == 1  # the second signing left nothing behind


def test_status_list_places_are_counted_in_blocks_and_a_list_is_left_once_it_is_half_full(runtime, monkeypatch):
    monkeypatch.setattr(issuing, "LIST_FILL_LIMIT", 8)
    monkeypatch.setattr(issuing, "STATUS_PLACES_PER_TAKE", 4)
    for _ in range(10):
        issuing.issue_credential(runtime, read_event(approved_event()))
    lists = sorted(runtime.db[store.STATUS_LISTS].find({}), key=lambda record: record["created_at"])
    assert [record["allocated"] for record in lists] == [8, 4]  # two blocks fill the first; the next opens
    credentials = list(runtime.db[store.CREDENTIALS].find({}))
    per_list = [sum(1 for c in credentials if c["status_list_id"] == record["_id"]) for record in lists]
    assert per_list == [8, 2]
    assert len({(c["status_list_id"], c["status_index"]) for c in credentials}) == 10


def test_the_stored_credential_is_signed_and_never_holds_the_students_email(client, issue):
    record = issue()
    document = client.get(f"/credentials/{record['_id']}").get_json()
    assert document["id"] == record["credential_id"]
    assert document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert document["proof"]["verificationMethod"] == "did:web:verify.stint.test#key-1"
    assert "asha@example.org" not in json.dumps(document)
    status = document["credentialStatus"]
    assert status["statusListCredential"] == f"http://verify.stint.test/status-lists/{record['status_list_id']}"
    assert int(status["statusListIndex"]) == record["status_index"]


def test_private_keys_live_in_owner_only_files_and_the_database_holds_only_public_keys(runtime, issue, tmp_path):
    issue()
    files = list((tmp_path / "keys").iterdir())
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o077 == 0
    key = runtime.db["signing_keys"].find_one({})
    assert set(key) == {"_id", "seq", "type", "public_key_multibase", "status", "created_at", "retired_at"}
    assert b"PRIVATE KEY" in files[0].read_bytes()


def test_a_student_lists_only_their_own_credentials(client, issue, as_role):
    mine = issue(student={"id": "student-a", "name": "A", "email": "a@example.org"})
    issue(student={"id": "student-b", "name": "B", "email": "b@example.org"})
    page = client.get("/credentials?mine=1", headers=as_role("student", sub="student-a")).get_json()
    assert [item["id"] for item in page["items"]] == [mine["credential_id"]]
    assert page["items"][0]["credits_recommended"] == 1.5
    everything = client.get("/credentials", headers=as_role("admin")).get_json()
    assert len(everything["items"]) == 2


def test_the_worker_process_prepares_its_runtime_before_handling(cert_settings, runtime):
    prepared = ready_runtime(cert_settings, runtime.db)
    assert runtime.db["signing_keys"].count_documents({}) == 1  # the key exists before the first event
    event = approved_event()
    bind_handlers(HANDLERS, prepared)["stint.work.approved.v1"](read_event(event))
    assert runtime.db["credentials"].count_documents({"application_id": event["data"]["application_id"]}) == 1


def test_a_database_from_before_reissues_gets_the_index_that_allows_one_successor(runtime, issue):
    issue()
    credentials = runtime.db[store.CREDENTIALS]
    credentials.drop_index("one_per_issue")
    credentials.create_index("application_id", unique=True, name="one_per_application")  # as it was
    store.ensure_indexes(runtime.db)
    indexes = credentials.index_information()
    assert "one_per_application" not in indexes and indexes["one_per_issue"]["unique"]
    store.ensure_indexes(runtime.db)  # and again, as every start does
