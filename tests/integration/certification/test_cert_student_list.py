"""A student's credentials, read through their list by `_id` (no scan): the same items, order and pages as the
scan of the credentials gave, whatever was revoked, re-issued or delivered twice, and on a database from before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.certification import issuing, key_revocation, store
from shared import owner_index
from shared.events import read_event
from shared.pagination import paginate
from tests.integration.certification.conftest import approved_event

ASHA = {"id": "student-asha", "name": "Asha Rao", "email": "asha@example.org"}


@pytest.fixture(autouse=True)
def no_grace(monkeypatch):
    """The key is rotated and revoked at once here (the grace after a rotation has its own test)."""
    monkeypatch.setattr(key_revocation, "RETIRED_GRACE_SECONDS", 0)


def _pages(client, headers, limit: int = 2) -> list[list[str]]:
    """Every page of GET /credentials?mine=1, as lists of credential ids."""
    pages, cursor = [], None
    while True:
        query = {"mine": 1, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get("/credentials", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if not cursor:
            return pages


def _scanned(runtime, student_id: str, limit: int = 2) -> list[list[str]]:
    """The same pages as the scan of the credentials collection gave them before the lists existed."""
    pages, cursor = [], None
    while True:
        scope = {"student.id": student_id}
        items, cursor = paginate(runtime.db[store.CREDENTIALS], scope, limit, cursor, sort_field="issued_at")
        pages.append([item["credential_id"] for item in items])
        if not cursor:
            return pages


@pytest.fixture
def asha_with_history(client, issue, as_role, runtime) -> dict:
    """Asha's five credentials (one revoked for plagiarism, the rest re-issued after key-1 was revoked) and another
    student's one: nine credentials of Asha's in all."""
    records = [issue(student=ASHA) for _ in range(5)]
    issue(student={**ASHA, "id": "student-other"})
    admin = as_role("admin")
    plagiarised = client.post(f"/credentials/{records[0]['_id']}/revoke", json={"reason": "plagiarised"}, headers=admin)
    assert plagiarised.status_code == 200
    assert client.post("/keys/rotate", headers=admin).status_code == 201
    assert client.post("/keys/key-1/revoke", json={"reason": "leaked"}, headers=admin).status_code == 200
    key = runtime.db[store.SIGNING_KEYS].find_one({"_id": "key-1"})
    [revoked] = [read_event(event) for event in key["outbox"] if event["type"] == "stint.key.revoked.v1"]
    assert key_revocation.reissue_signed_with_revoked_key(runtime, revoked)["reissued"] == 5  # the other's too
    return {"records": records, "headers": as_role("student", sub=ASHA["id"])}


def test_a_student_sees_the_same_pages_as_the_scan_gave_with_revoked_and_reissued_credentials(
    client, runtime, asha_with_history
):
    pages = _pages(client, asha_with_history["headers"])
    assert pages == _scanned(runtime, ASHA["id"])
    shown = [credential for page in pages for credential in page]
    assert len(shown) == len(set(shown)) == 9  # five issued, four successors
    everything = {r["credential_id"] for r in runtime.db[store.CREDENTIALS].find({"student.id": ASHA["id"]})}
    assert set(shown) == everything
    items = client.get("/credentials?mine=1&limit=20", headers=asha_with_history["headers"]).get_json()["items"]
    assert sum(1 for item in items if item["revoked"] and not item.get("superseded_by")) == 1  # plagiarised
    assert sum(1 for item in items if item.get("superseded_by")) == 4 and sum(1 for i in items if i["reissue_of"]) == 4


def test_a_redelivered_issuing_event_lists_its_credential_once(client, runtime, as_role):
    event = approved_event(student=ASHA)
    for _ in range(3):
        issuing.issue_credential(runtime, read_event(event))
    [page] = _pages(client, as_role("student", sub=ASHA["id"]))
    assert len(page) == 1
    assert len(runtime.db[store.STUDENT_CREDENTIALS].find_one({"_id": ASHA["id"]})["credentials"]) == 1


def test_an_entry_whose_credential_was_never_stored_is_not_shown_and_pages_stay_full(client, issue, runtime, as_role):
    records = [issue(student=ASHA) for _ in range(3)]
    died_before_insert = {"_id": str(uuid.uuid4()), "student": ASHA, "issued_at": datetime.now(UTC)}
    store.list_student_credential(runtime.db, died_before_insert)
    pages = _pages(client, as_role("student", sub=ASHA["id"]))
    assert [len(page) for page in pages] == [2, 1]
    assert sorted(c for page in pages for c in page) == sorted(r["credential_id"] for r in records)


def test_a_database_from_before_the_lists_answers_at_once_and_is_listed_at_the_next_start(
    client, runtime, monkeypatch, asha_with_history
):
    before = _pages(client, asha_with_history["headers"])
    runtime.db.drop_collection(store.STUDENT_CREDENTIALS)  # as a database from before this change
    monkeypatch.setattr(owner_index, "_complete", set())  # a process that never saw the lists complete
    assert _pages(client, asha_with_history["headers"]) == before  # scanned until they are

    store.ensure_indexes(runtime.db)  # the next start enters what was stored before
    assert runtime.db[store.STUDENT_CREDENTIALS].find_one({"_id": owner_index.COMPLETE}) is not None
    assert len(runtime.db[store.STUDENT_CREDENTIALS].find_one({"_id": ASHA["id"]})["credentials"]) == 9
    assert _pages(client, asha_with_history["headers"]) == before
    store.ensure_indexes(runtime.db)  # and again, as every start does: nothing entered twice
    assert len(runtime.db[store.STUDENT_CREDENTIALS].find_one({"_id": ASHA["id"]})["credentials"]) == 9
