"""Universities: credit policy, one decision per credit request, the CSV export and the credit_decided event."""

from __future__ import annotations

import csv
import io

from services.certification import store
from tests.support.pipeline import create_topics, publish_pending

UNI = "uni-delhi"


def test_a_university_sets_its_policy_and_reads_it_back(client, as_role):
    headers = as_role("university", org=UNI)
    assert client.get("/universities/me/policy", headers=headers).get_json()["hours_per_credit"] == 30
    response = client.put("/universities/me/policy", json={"hours_per_credit": 20, "min_hours": 40}, headers=headers)
    assert response.status_code == 200
    assert response.get_json() | {"updated_at": None} == {
        "university_org": UNI,
        "hours_per_credit": 20,
        "min_hours": 40,
        "updated_at": None,
    }


def test_credits_are_bounded_by_the_policy_and_decided_once(client, issue, as_role, ask_credit):
    record = issue()  # 45 hours
    ask_credit(record, UNI)
    ask_credit(record, "uni-b")
    headers = as_role("university", org=UNI)
    url = f"/credentials/{record['_id']}/credit-decisions"
    too_many = client.post(url, json={"decision": "accepted", "credits_awarded": 2}, headers=headers)
    assert too_many.status_code == 422 and too_many.get_json()["error"]["code"] == "too_many_credits"
    accepted = client.post(
        url,
        json={"decision": "accepted", "credits_awarded": 1.5, "course_code": "CS-FW1", "term": "2026-S1"},
        headers=headers,
    )
    assert accepted.status_code == 201, accepted.get_json()
    body = accepted.get_json()
    assert body["credential_id"] == record["credential_id"] and body["credits_awarded"] == 1.5
    again = client.post(url, json={"decision": "rejected"}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "decision_exists"
    other_university = client.post(url, json={"decision": "rejected"}, headers=as_role("university", org="uni-b"))
    assert other_university.status_code == 201


def test_a_stricter_policy_changes_what_can_be_accepted(client, issue, as_role, ask_credit):
    headers = as_role("university", org=UNI)
    first, second = issue(), issue()
    ask_credit(first, UNI)
    ask_credit(second, UNI)
    client.put("/universities/me/policy", json={"hours_per_credit": 15, "min_hours": 50}, headers=headers)
    below_minimum = client.post(
        f"/credentials/{first['_id']}/credit-decisions",
        json={"decision": "accepted", "credits_awarded": 1},
        headers=headers,
    )
    assert below_minimum.status_code == 422 and below_minimum.get_json()["error"]["code"] == "below_min_hours"
    client.put("/universities/me/policy", json={"hours_per_credit": 15, "min_hours": 0}, headers=headers)
    three = client.post(
        f"/credentials/{second['_id']}/credit-decisions",
        json={"decision": "accepted", "credits_awarded": 3},
        headers=headers,
    )
    assert three.status_code == 201


def test_no_credit_on_a_revoked_credential(client, issue, as_role, ask_credit):
    record = issue()
    ask_credit(record)
    client.post(f"/credentials/{record['_id']}/revoke", json={"reason": "fraud"}, headers=as_role("admin"))
    response = client.post(
        f"/credentials/{record['_id']}/credit-decisions", json={"decision": "rejected"}, headers=as_role("university")
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "credential_revoked"


def test_a_university_sees_and_exports_only_its_own_accepted_credits(client, issue, as_role, ask_credit):
    mine, rejected, theirs = issue(), issue(), issue()
    ask_credit(mine, UNI, apaar_id="123456789012")
    ask_credit(rejected, UNI)
    ask_credit(theirs, "x")
    headers = as_role("university", org=UNI)
    accept = {"decision": "accepted", "credits_awarded": 1.5, "course_code": "=HYPERLINK()", "term": "2026-S1"}
    client.post(f"/credentials/{mine['_id']}/credit-decisions", json=accept, headers=headers)
    client.post(f"/credentials/{rejected['_id']}/credit-decisions", json={"decision": "rejected"}, headers=headers)
    client.post(f"/credentials/{theirs['_id']}/credit-decisions", json=accept, headers=as_role("university", org="x"))

    page = client.get("/credit-decisions?limit=1", headers=headers).get_json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"/credit-decisions?limit=10&cursor={page['next_cursor']}", headers=headers).get_json()
    listed = {item["credential_id"] for item in page["items"] + rest["items"]}
    assert listed == {mine["credential_id"], rejected["credential_id"]}

    export = client.get("/credit-decisions/export", headers=headers)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 1
    row = rows[0]
    assert row["credential_id"] == mine["credential_id"] and row["student_name"] == "Asha Rao"
    assert row["listing_title"] == "Customer survey analysis" and row["employer"] == "Acme Analytics"
    assert (row["hours"], row["credits"], row["term"]) == ("45", "1.5", "2026-S1")
    assert row["course_code"] == "'=HYPERLINK()"  # spreadsheet formulas are neutralised
    assert row["decided_at"].endswith("Z")
    assert row["apaar_id"] == "123456789012"  # for the Academic Bank of Credits


def test_a_decision_emits_credit_decided(client, issue, as_role, cert_settings, runtime, ask_credit):
    create_topics(cert_settings)
    record = issue()
    ask_credit(record, UNI)
    client.post(
        f"/credentials/{record['_id']}/credit-decisions",
        json={"decision": "accepted", "credits_awarded": 1, "note": "fits CS elective"},
        headers=as_role("university", org=UNI),
    )
    decision = runtime.db["credit_decisions"].find_one({"credential_id": record["_id"]})
    event = decision["outbox"][0]
    assert event["type"] == "stint.certificate.credit_decided.v1"
    assert event["data"]["university_org"] == UNI and event["data"]["credits_awarded"] == 1
    assert event["data"]["credential_id"] == record["credential_id"]
    # issued, university registered and verified, credit requested, credit decided
    assert publish_pending(cert_settings, store.outbox_collections(runtime.db)) == 5
