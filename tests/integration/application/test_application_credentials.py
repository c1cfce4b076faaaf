"""Highlighted credentials on the real servers: the read model follows stint.certification through the broker;
a student highlights only their own unrevoked credentials; the employer sees each as verified until revoked."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaProducer

from services.application import store
from services.application.read_model import (
    record_issued_credential,
    record_reissued_credential,
    record_revoked_credential,
)
from services.application.worker import HANDLERS
from shared.events import encode_event, new_event
from shared.worker import bind_handlers
from tests.integration.application.app_support import ORG, auth_header
from tests.support.pipeline import consume_until, consumer_for, create_topics


def credential_event(kind: str, student_id: str, credential_uuid: str | None = None) -> dict:
    """What the certification service announces about a credential."""
    credential_uuid = credential_uuid or str(uuid.uuid4())
    data = {
        "credential_id": f"urn:uuid:{credential_uuid}",
        "application_id": str(uuid.uuid4()),
        "student": {"id": student_id, "name": "Asha Rao", "email": "asha@uni.example"},
        "org_id": ORG,
        "listing_title": "Tidy a sales dashboard",
        "verification_url": f"http://verify.stint.test/verify/{credential_uuid}",
    }
    extra = {"hours": 30, "credits_recommended": 1} if kind == "issued" else {"reason": "issued in error"}
    return new_event(f"stint.certificate.{kind}.v1", "certification", data["credential_id"], {**data, **extra})


def apply_with(calls, people, listing, credential_ids):
    body = {"listing_id": listing["listing_id"], "cover_note": "See my earlier work.", "answers": ["Tableau"]}
    return calls.client.post(
        "/applications", json={**body, "credential_ids": credential_ids}, headers=auth_header(people.student)
    )


def test_the_read_model_follows_credential_events_through_the_broker(app_settings, db):
    create_topics(app_settings)
    issued = credential_event("issued", "stu-asha")
    revoked = credential_event("revoked", "stu-asha", issued["data"]["credential_id"].removeprefix("urn:uuid:"))
    late_revoked = credential_event("revoked", "stu-ben")  # revoked arriving before its issued event
    late_issued = credential_event("issued", "stu-ben", late_revoked["data"]["credential_id"].removeprefix("urn:uuid:"))
    producer = KafkaProducer(bootstrap_servers=app_settings.kafka_bootstrap, acks="all")
    try:
        for event in (issued, revoked, late_revoked, late_issued, issued):
            producer.send(app_settings.topic("certification"), key=event["subject"].encode(), value=encode_event(event))
        producer.flush()
    finally:
        producer.close()
    consumer = consumer_for(app_settings, db, ["listing", "certification"], bind_handlers(HANDLERS, db))
    try:
        consume_until(consumer, lambda: db.handled_events.count_documents({}) == 4)
    finally:
        consumer.close()
    known = store.find_credentials(db, [issued["data"]["credential_id"], late_issued["data"]["credential_id"]])
    assert [credential["revoked"] for credential in known.values()] == [True, True]
    assert known[issued["data"]["credential_id"]]["student_id"] == "stu-asha"


@pytest.fixture
def my_credential(db):
    event = credential_event("issued", "stu-asha")
    record_issued_credential(db, event)
    return event


def test_the_employer_sees_a_highlighted_credential_as_verified_until_it_is_revoked(
    calls, people, db, published_listing, my_credential
):
    listing = published_listing()
    credential_id = my_credential["data"]["credential_id"]
    response = apply_with(calls, people, listing, [credential_id.removeprefix("urn:uuid:")])
    assert response.status_code == 201, response.get_json()
    application_id = response.get_json()["id"]

    [shown] = calls.get(people.employer, application_id).get_json()["highlighted_credentials"]
    assert shown == {
        "credential_id": credential_id,
        "listing_title": "Tidy a sales dashboard",
        "verification_url": my_credential["data"]["verification_url"],
        "verified": True,
    }

    revoked = credential_event("revoked", "stu-asha", credential_id.removeprefix("urn:uuid:"))
    record_revoked_credential(db, revoked)
    assert calls.get(people.employer, application_id).get_json()["highlighted_credentials"][0]["verified"] is False
    listed = calls.client.get("/applications", headers=auth_header(people.employer)).get_json()["items"]
    assert listed[0]["highlighted_credentials"][0]["verified"] is False


@pytest.mark.parametrize(
    ("whose", "code"),
    [
        ("someone else's", "credential_not_yours"),
        ("unknown", "credential_not_yours"),
        ("revoked", "credential_revoked"),
    ],
)
def test_a_credential_not_the_students_own_or_revoked_is_refused_and_nothing_is_stored(
    calls, people, db, published_listing, my_credential, whose, code
):
    if whose == "someone else's":
        event = credential_event("issued", "stu-ben")
        record_issued_credential(db, event)
    elif whose == "revoked":
        event = credential_event("issued", "stu-asha")
        record_issued_credential(db, event)
        record_revoked_credential(db, credential_event("revoked", "stu-asha", event["subject"][9:]))
    else:
        event = credential_event("issued", "stu-asha")  # never reached this service
    listing = published_listing()
    response = apply_with(calls, people, listing, [my_credential["data"]["credential_id"], event["subject"]])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["details"]["credential_ids"] == [event["subject"]]
    assert db.applications.count_documents({}) == 0


def test_a_re_issued_credential_reads_as_unverified_and_its_successor_can_be_highlighted(
    calls, people, db, published_listing, my_credential
):
    old_id = my_credential["data"]["credential_id"]
    first = apply_with(calls, people, published_listing(), [old_id])
    assert first.status_code == 201, first.get_json()
    successor = credential_event("issued", "stu-asha")
    reissued = new_event(
        "stint.certificate.reissued.v1",
        "certification",
        successor["subject"],
        {**successor["data"], "reissue_of": old_id, "reason": "the key that signed it was revoked as compromised"},
    )
    record_reissued_credential(db, reissued)

    shown = calls.get(people.employer, first.get_json()["id"]).get_json()["highlighted_credentials"]
    assert shown[0]["verified"] is False
    refused = apply_with(calls, people, published_listing(), [old_id])
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "credential_replaced"
    assert refused.get_json()["error"]["details"]["replaced_by"] == [successor["subject"]]
    second = apply_with(calls, people, published_listing(), [successor["subject"]])
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["highlighted_credentials"][0]["verified"] is True


@pytest.mark.parametrize("ids", [["not-a-credential"], "urn:uuid:x", [str(uuid.uuid4())] * 11])
def test_garbled_credential_ids_are_a_422(calls, people, db, published_listing, ids):
    response = apply_with(calls, people, published_listing(), ids)
    assert response.status_code == 422
    assert "credential_ids" in response.get_json()["error"]["details"]
    assert db.applications.count_documents({}) == 0
