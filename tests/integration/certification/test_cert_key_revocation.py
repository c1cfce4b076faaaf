"""A compromised key: revoked by an admin, distrusted everywhere at once, and what it signed re-issued by the
worker's resumable job, each student told once even when the job dies midway."""

from __future__ import annotations

import pytest

from services.certification import key_revocation, store
from services.certification.worker import HANDLERS
from services.notification import store as notification_store
from services.notification.worker import HANDLERS as NOTIFICATION_HANDLERS
from shared.events import Event, read_event
from shared.mongo import connect
from shared.worker import bind_handlers
from tests.support.pipeline import consume_until, consumer_for, create_topics, publish_pending

REISSUED = "stint.certificate.reissued.v1"


@pytest.fixture(autouse=True)
def no_grace(monkeypatch):
    """Tests rotate and revoke at once; the grace after a rotation has its own test."""
    monkeypatch.setattr(key_revocation, "RETIRED_GRACE_SECONDS", 0)


def _student(number: int) -> dict:
    return {"id": f"student-{number}", "name": f"Student {number}", "email": f"s{number}@example.org"}


def _rotate_and_revoke(client, as_role, reason: str = "the private key leaked") -> dict:
    assert client.post("/keys/rotate", headers=as_role("admin")).status_code == 201
    revoked = client.post("/keys/key-1/revoke", json={"reason": reason}, headers=as_role("admin"))
    assert revoked.status_code == 200, revoked.get_json()
    return revoked.get_json()


def _key_revoked_event(runtime) -> Event:
    """The key's revocation as the worker reads it."""
    key = runtime.db[store.SIGNING_KEYS].find_one({"_id": "key-1"})
    [event] = [e for e in key["outbox"] if e["type"] == "stint.key.revoked.v1"]
    return read_event(event)


def _successors(runtime) -> list[dict]:
    return list(runtime.db[store.CREDENTIALS].find({"reissue_of": {"$ne": ""}}))


def _checks(client, document) -> dict[str, dict]:
    return {check["name"]: check for check in client.post("/verify", json=document).get_json()["checks"]}


def test_the_current_key_is_revoked_only_after_a_rotation_and_only_once(client, issue, as_role, runtime):
    issue()
    current = client.post("/keys/key-1/revoke", json={"reason": "leaked"}, headers=as_role("admin"))
    assert current.status_code == 409 and current.get_json()["error"]["code"] == "key_is_current"
    assert "rotate first" in current.get_json()["error"]["message"]
    revoked = _rotate_and_revoke(client, as_role)
    assert revoked["status"] == "revoked" and revoked["revocation_reason"] == "the private key leaked"
    again = client.post("/keys/key-1/revoke", json={"reason": "again"}, headers=as_role("admin"))
    assert again.status_code == 200 and again.get_json()["revoked_at"] == revoked["revoked_at"]
    assert _key_revoked_event(runtime)["data"]["reason"] == "the private key leaked"  # one event, not two
    assert client.post("/keys/key-2/revoke", headers=as_role("admin")).status_code == 409
    for role in ("student", "university", "employer"):
        assert client.post("/keys/key-1/revoke", headers=as_role(role)).status_code == 403


def test_a_key_that_was_current_a_moment_ago_is_not_revoked_yet(client, issue, as_role, monkeypatch):
    monkeypatch.setattr(key_revocation, "RETIRED_GRACE_SECONDS", 60)
    issue()
    client.post("/keys/rotate", headers=as_role("admin"))
    early = client.post("/keys/key-1/revoke", headers=as_role("admin"))
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "key_recently_current"
    assert early.get_json()["error"]["details"]["retry_after_seconds"] > 0


def test_a_revoked_key_leaves_the_did_document_and_what_it_signed_fails_issuer_key(client, issue, as_role):
    old = client.get(f"/credentials/{issue()['_id']}").get_json()
    _rotate_and_revoke(client, as_role, reason="found on a public paste site")
    new = client.get(f"/credentials/{issue()['_id']}").get_json()
    did = client.get("/.well-known/did.json").get_json()
    assert [m["id"] for m in did["verificationMethod"]] == ["did:web:verify.stint.test#key-2"]
    assert did["assertionMethod"] == ["did:web:verify.stint.test#key-2"]

    checks = _checks(client, old)
    assert checks["issuer_key"]["passed"] is False and checks["signature"]["passed"] is False
    message = checks["issuer_key"]["message"]
    assert "key-1 was revoked" in message and "compromised" in message and "public paste site" in message
    assert client.post("/verify", json=new).get_json()["verified"] is True
    page = client.get(f"/verify/{old['id'].removeprefix('urn:uuid:')}", headers={"Accept": "text/html"})
    assert "revoked as compromised" in page.get_data(as_text=True)


def test_the_job_reissues_each_credential_once_and_a_replay_changes_nothing(client, issue, as_role, runtime):
    records = [issue(student=_student(n)) for n in range(3)]
    plagiarised = issue(student=_student(9))
    client.post(f"/credentials/{plagiarised['_id']}/revoke", json={"reason": "plagiarised"}, headers=as_role("admin"))
    _rotate_and_revoke(client, as_role)
    event = _key_revoked_event(runtime)

    done = key_revocation.reissue_signed_with_revoked_key(runtime, event)
    assert done == {"key_id": "key-1", "reissued": 3, "skipped_revoked": 1}
    successors = {s["reissue_of"]: s for s in _successors(runtime)}
    assert set(successors) == {r["_id"] for r in records}  # the plagiarised one stays revoked, not replaced
    for record in records:
        successor = successors[record["_id"]]
        assert successor["key_id"] == "key-2" and successor["student"] == record["student"]
        assert successor["application_id"] == record["application_id"] and successor["hours"] == record["hours"]
        old_doc = client.get(f"/credentials/{record['_id']}").get_json()
        new_doc = client.get(f"/credentials/{successor['_id']}").get_json()
        assert new_doc["id"] == successor["credential_id"] != old_doc["id"]
        assert new_doc["credentialSubject"] == old_doc["credentialSubject"]  # the same achievement
        assert client.post("/verify", json=new_doc).get_json()["verified"] is True
        assert _checks(client, old_doc)["status"]["passed"] is False  # the old one is revoked in the list too
        old_now = store.credential_by_id(runtime.db, record["_id"])
        assert old_now["revocation_reason"] == "re-issued" and old_now["superseded_by"] == successor["_id"]
        told = [e for e in runtime.db[store.CREDENTIALS].find_one({"_id": successor["_id"]})["outbox"]]
        assert [e["type"] for e in told] == [REISSUED] and told[0]["data"]["reissue_of"] == record["credential_id"]
        assert told[0]["data"]["student"]["id"] == record["student"]["id"]

    replay = key_revocation.reissue_signed_with_revoked_key(runtime, event)
    assert replay["reissued"] == 0 and len(_successors(runtime)) == 3
    mine = client.get("/credentials?mine=1", headers=as_role("student", sub="student-0")).get_json()["items"]
    assert {(item["revoked"], bool(item["superseded_by"]), bool(item["reissue_of"])) for item in mine} == {
        (True, True, False),
        (False, False, True),
    }


def test_the_verification_pages_link_a_replaced_credential_and_its_successor(client, issue, as_role, runtime):
    record = issue()
    _rotate_and_revoke(client, as_role)
    key_revocation.reissue_signed_with_revoked_key(runtime, _key_revoked_event(runtime))
    [successor] = _successors(runtime)
    old_page = client.get(f"/verify/{record['_id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "See the re-issued credential" in old_page and f"/verify/{successor['_id']}" in old_page
    as_json = client.get(f"/verify/{record['_id']}", headers={"Accept": "application/json"}).get_json()
    assert as_json["state"] == "reissued" and as_json["successor_url"].endswith(successor["_id"])
    new_page = client.get(f"/verify/{successor['_id']}", headers={"Accept": "application/json"}).get_json()
    assert new_page["state"] == "valid" and new_page["predecessor_url"].endswith(record["_id"])


class WorkerDied(Exception):
    """Stands for the worker process dying after some credentials."""


def test_a_job_that_dies_midway_resumes_from_kafka_and_tells_each_student_once(
    client, issue, as_role, runtime, cert_settings, settings_for
):
    create_topics(cert_settings)
    records = [issue(student=_student(n)) for n in range(6)]
    _rotate_and_revoke(client, as_role)
    seen = []

    def die_after_two(record):
        seen.append(record["_id"])
        if len(seen) == 2:
            raise WorkerDied

    with pytest.raises(WorkerDied):
        key_revocation.reissue_signed_with_revoked_key(runtime, _key_revoked_event(runtime), after_each=die_after_two)
    assert len(_successors(runtime)) == 2
    # What the dead worker's relay had already sent goes out; key.revoked is then delivered (again) to the worker.
    publish_pending(cert_settings, store.outbox_collections(runtime.db))
    worker = consumer_for(cert_settings, runtime.db, ["certification"], bind_handlers(HANDLERS, runtime))
    try:
        consume_until(worker, lambda: len(_successors(runtime)) == 6 and _reissues_done(runtime) == 6)
    finally:
        worker.close()
    publish_pending(cert_settings, store.outbox_collections(runtime.db))

    successors = _successors(runtime)
    assert sorted(s["reissue_of"] for s in successors) == sorted(r["_id"] for r in records)  # one each
    notification_settings = settings_for("notification")
    inbox_db = connect(notification_settings)
    notification_store.ensure_indexes(inbox_db)
    notifier = consumer_for(
        notification_settings, inbox_db, ["certification"], bind_handlers(NOTIFICATION_HANDLERS, inbox_db)
    )
    told = inbox_db[notification_store.INBOX]
    try:
        consume_until(notifier, lambda: told.count_documents({"event_type": REISSUED}) >= 6)
        for _ in range(3):  # anything more (a duplicate) would arrive now
            notifier.poll_once()
        recipients = sorted(entry["recipient"] for entry in told.find({"event_type": REISSUED}))
        emails = sorted(email["to"] for email in inbox_db[notification_store.EMAILS].find({"event_type": REISSUED}))
    finally:
        notifier.close()
        inbox_db.client.drop_database(notification_settings.mongo_db)
    assert recipients == sorted(f"user:student-{n}" for n in range(6))  # each student told exactly once
    assert emails == sorted(f"s{n}@example.org" for n in range(6))


def _reissues_done(runtime) -> int:
    return runtime.db[store.REISSUES].count_documents({"state": "done"})


def test_a_request_about_a_replaced_credential_points_to_its_successor(client, issue, as_role, runtime, ask_credit):
    record = issue()
    ask_credit(record, "uni-delhi")
    _rotate_and_revoke(client, as_role)
    key_revocation.reissue_signed_with_revoked_key(runtime, _key_revoked_event(runtime))
    [successor] = _successors(runtime)
    decided = client.post(
        f"/credentials/{record['_id']}/credit-decisions",
        json={"decision": "rejected"},
        headers=as_role("university", org="uni-delhi"),
    )
    assert decided.status_code == 409 and decided.get_json()["error"]["code"] == "credential_reissued"
    assert decided.get_json()["error"]["details"]["successor"] == successor["credential_id"]
    queue = client.get("/credit-requests", headers=as_role("university", org="uni-delhi")).get_json()["items"]
    assert queue[0]["credential"]["superseded_by"] == successor["credential_id"]
    asked_again = ask_credit(successor, "uni-delhi")  # the student asks about the re-issued credential
    assert asked_again["credential_id"] == successor["credential_id"]
