"""A student asks a verified university for credit; the registrar decides against the request."""

from __future__ import annotations

import pytest

from services.certification import store
from services.notification import store as notification_store
from services.notification.worker import HANDLERS as NOTIFICATION_HANDLERS
from shared.mongo import connect
from shared.worker import bind_handlers
from tests.support.pipeline import consume_until, consumer_for, create_topics, publish_pending

UNI = "uni-delhi"


def _ask(client, as_role, record, university=UNI, student=None, **body):
    headers = as_role("student", sub=student or record["student"]["id"])
    payload = {"credential_id": record["credential_id"], "university_id": university, **body}
    return client.post("/credit-requests", json=payload, headers=headers)


def test_a_student_asks_a_verified_university_once_per_credential(client, issue, as_role, verified_university):
    verified_university(UNI, name="University of Delhi")
    record = issue()
    asked = _ask(client, as_role, record, apaar_id="123456789012", note="for my elective")
    assert asked.status_code == 201, asked.get_json()
    request = asked.get_json()
    assert request["status"] == "open" and request["university_name"] == "University of Delhi"
    assert request["credential_id"] == record["credential_id"] and request["apaar_id"] == "123456789012"
    assert request["credential"]["listing_title"] == "Customer survey analysis"
    assert request["credential"]["hours"] == 45 and request["credential"]["employer"] == "Acme Analytics"
    again = _ask(client, as_role, record)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "credit_request_exists"
    assert again.get_json()["error"]["details"]["request_id"] == request["id"]


def test_a_request_names_a_verified_university_and_the_students_own_live_credential(
    client, issue, as_role, verified_university
):
    verified_university(UNI)
    record = issue()
    someone_else = _ask(client, as_role, record, student="student-2")
    assert someone_else.status_code == 403 and someone_else.get_json()["error"]["code"] == "not_your_credential"
    unknown = _ask(client, as_role, record, university="uni-nowhere")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "university_not_found"
    client.put(
        "/universities/me",
        json={"name": "Pending U", "aishe_code": "U-0777", "website": "https://pending.ac.in"},
        headers=as_role("university", org="uni-pending"),
    )
    pending = _ask(client, as_role, record, university="uni-pending")
    assert pending.status_code == 409 and pending.get_json()["error"]["code"] == "university_not_verified"
    missing = client.post(
        "/credit-requests",
        json={"credential_id": "urn:uuid:00000000-0000-4000-8000-000000000000", "university_id": UNI},
        headers=as_role("student", sub="student-1"),
    )
    assert missing.status_code == 404
    client.post(f"/credentials/{record['_id']}/revoke", json={"reason": "fraud"}, headers=as_role("admin"))
    revoked = _ask(client, as_role, record)
    assert revoked.status_code == 409 and revoked.get_json()["error"]["code"] == "credential_revoked"


@pytest.mark.parametrize(
    "body",
    [
        {"apaar_id": "12345678901"},
        {"apaar_id": "12345678901a"},
        {"note": "n" * 1001},
        {"priority": "high"},
    ],
)
def test_bad_requests_are_refused_in_the_error_shape(client, issue, as_role, verified_university, body):
    verified_university(UNI)
    response = _ask(client, as_role, issue(), **body)
    assert response.status_code == 422 and set(response.get_json()["error"]) >= {"code", "message", "details"}


def test_only_students_ask_and_each_side_sees_its_own_queue(client, issue, as_role, verified_university, ask_credit):
    verified_university(UNI)
    mine, other_student = issue(), issue(student={"id": "student-2", "name": "Ravi", "email": "r@example.org"})
    ask_credit(mine, UNI, apaar_id="123456789012")
    ask_credit(other_student, UNI)
    ask_credit(mine, "uni-other")
    as_university = client.post(
        "/credit-requests",
        json={"credential_id": mine["credential_id"], "university_id": UNI},
        headers=as_role("university", org=UNI),
    )
    assert as_university.status_code == 403

    queue = client.get("/credit-requests", headers=as_role("university", org=UNI)).get_json()["items"]
    assert {item["student"]["id"] for item in queue} == {"student-1", "student-2"}
    assert all(item["university_id"] == UNI and item["credential"]["verification_url"] for item in queue)
    own = client.get("/credit-requests", headers=as_role("student", sub="student-1")).get_json()["items"]
    assert sorted(item["university_id"] for item in own) == sorted([UNI, "uni-other"])
    assert client.get("/credit-requests", headers=as_role("admin")).status_code == 403
    bad_status = client.get("/credit-requests?status=maybe", headers=as_role("student"))
    assert bad_status.status_code == 422


def test_a_decision_closes_the_request_and_a_second_one_is_refused(client, issue, as_role, ask_credit, runtime):
    record = issue()
    request = ask_credit(record, UNI)
    registrar = as_role("university", org=UNI)
    decided = client.post(
        f"/credentials/{record['_id']}/credit-decisions",
        json={"decision": "accepted", "credits_awarded": 1},
        headers=registrar,
    )
    assert decided.status_code == 201, decided.get_json()
    assert decided.get_json()["id"] == request["id"]  # a decision is its request's
    again = client.post(
        f"/credentials/{record['_id']}/credit-decisions", json={"decision": "rejected"}, headers=registrar
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "decision_exists"
    open_now = client.get("/credit-requests?status=open", headers=registrar).get_json()["items"]
    accepted = client.get("/credit-requests?status=accepted", headers=registrar).get_json()["items"]
    assert open_now == [] and [item["id"] for item in accepted] == [request["id"]]
    student_view = client.get("/credit-requests", headers=as_role("student", sub="student-1")).get_json()["items"]
    assert student_view[0]["status"] == "accepted" and student_view[0]["decided_at"]


def test_a_decision_stored_before_a_crash_still_closes_its_request(client, issue, as_role, ask_credit, runtime):
    record = issue()
    request = ask_credit(record, UNI)
    registrar = as_role("university", org=UNI)
    client.post(f"/credentials/{record['_id']}/credit-decisions", json={"decision": "rejected"}, headers=registrar)
    # As if the process died between storing the decision and closing the request:
    runtime.db[store.CREDIT_REQUESTS].update_one({"_id": request["id"]}, {"$set": {"status": "open"}})
    listed = client.get("/credit-requests", headers=registrar).get_json()["items"]
    assert listed[0]["status"] == "rejected"
    assert store.credit_request(runtime.db, request["id"])["status"] == "rejected"


def test_deciding_needs_a_verified_university_that_was_asked(client, issue, as_role, ask_credit, verified_university):
    record = issue()
    url = f"/credentials/{record['_id']}/credit-decisions"
    unregistered = client.post(url, json={"decision": "rejected"}, headers=as_role("university", org="uni-new"))
    assert unregistered.status_code == 403 and unregistered.get_json()["error"]["code"] == "university_not_verified"
    client.put(
        "/universities/me",
        json={"name": "Pending U", "aishe_code": "U-0777", "website": "https://pending.ac.in"},
        headers=as_role("university", org="uni-pending"),
    )
    pending = client.post(url, json={"decision": "rejected"}, headers=as_role("university", org="uni-pending"))
    assert pending.status_code == 403 and pending.get_json()["error"]["code"] == "university_not_verified"
    verified_university("uni-unasked")
    unasked = client.post(url, json={"decision": "rejected"}, headers=as_role("university", org="uni-unasked"))
    assert unasked.status_code == 403 and unasked.get_json()["error"]["code"] == "no_credit_request"
    ask_credit(record, UNI)
    client.post(f"/credentials/{record['_id']}/revoke", json={"reason": "plagiarism"}, headers=as_role("admin"))
    revoked = client.post(url, json={"decision": "rejected"}, headers=as_role("university", org=UNI))
    assert revoked.status_code == 409 and revoked.get_json()["error"]["code"] == "credential_revoked"
    queue = client.get("/credit-requests", headers=as_role("university", org=UNI)).get_json()["items"]
    assert queue[0]["credential"]["revoked"] is True  # the registrar sees why it cannot be decided


def test_a_request_announces_itself_to_the_university(client, issue, as_role, ask_credit, runtime):
    record = issue()
    request = ask_credit(record, UNI, note="for my elective", apaar_id="123456789012")
    stored = runtime.db[store.CREDIT_REQUESTS].find_one({"_id": request["id"]})
    [event] = stored["outbox"]
    assert event["type"] == "stint.credit.requested.v1" and event["subject"] == request["id"]
    assert event["data"]["university_id"] == UNI and event["data"]["student"]["id"] == "student-1"
    assert event["data"]["note"] == "for my elective"
    assert "apaar_id" not in event["data"]  # the APAAR id stays with the request, for the registrar only


def test_the_university_is_told_of_a_request_in_its_inbox_and_by_email(
    client, issue, as_role, ask_credit, runtime, cert_settings, settings_for
):
    create_topics(cert_settings)
    registrar = as_role("university", org=UNI, email="registrar@du.ac.in")
    profile = {"name": "University of Delhi", "aishe_code": "U-0042", "website": "https://du.ac.in"}
    assert client.put("/universities/me", json=profile, headers=registrar).status_code == 200
    request = ask_credit(issue(), UNI, note="for my elective")
    publish_pending(cert_settings, store.outbox_collections(runtime.db))
    settings = settings_for("notification")
    inbox_db = connect(settings)
    notification_store.ensure_indexes(inbox_db)
    notifier = consumer_for(settings, inbox_db, ["certification"], bind_handlers(NOTIFICATION_HANDLERS, inbox_db))
    try:
        told = inbox_db[notification_store.INBOX]
        # The university's events and the request are keyed apart, so they may be read in either order.
        kinds = ("stint.credit.requested.v1", "stint.university.verified.v1")
        consume_until(notifier, lambda: all(told.count_documents({"event_type": kind}) == 1 for kind in kinds))
        [entry] = told.find({"event_type": "stint.credit.requested.v1"})
        [email] = inbox_db[notification_store.EMAILS].find({"event_type": "stint.credit.requested.v1"})
        verified = told.find_one({"event_type": "stint.university.verified.v1"})
    finally:
        notifier.close()
        inbox_db.client.drop_database(settings.mongo_db)
    assert entry["recipient"] == f"org:{UNI}" and entry["link"] == request["credential"]["verification_url"]
    assert entry["title"] == "Credit request for Customer survey analysis"
    assert entry["body"] == "Asha Rao asks University of Delhi for academic credit for Customer survey analysis."
    assert email["to"] == "registrar@du.ac.in" and "for my elective" in email["text"]
    assert verified["recipient"] == f"org:{UNI}"
