"""Revoking a credential (services/certification/revoking.py) on a small fake store: the status bit first, then
the record and its event once; a second or racing revocation is refused and announces nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.certification import issuing, revoking
from services.certification import store as real_store
from services.certification.domain import AlreadyRevoked
from shared.errors import NotFound

UUID = "2f1c9a4e-8d7b-4c3a-9e21-5b6d7f8a9c0d"
RECORD = {
    "_id": UUID,
    "credential_id": f"urn:uuid:{UUID}",
    "application_id": "app-1",
    "student": {"id": "student-1", "name": "Asha Rao", "email": "asha@example.org"},
    "org_id": "org-acme",
    "listing_title": "Customer survey analysis",
    "verification_url": f"http://verify.stint.test/verify/{UUID}",
    "status_list_id": "list1",
    "status_index": 7,
    "revoked": False,
}


class FakeStore:
    """What revoking calls, over dicts; `race` lets another revocation land between the read and the write."""

    parse_uuid = staticmethod(real_store.parse_uuid)

    def __init__(self):
        self.credentials = {UUID: dict(RECORD)}
        self.bits: set[tuple[str, int]] = set()
        self.events: list[dict] = []
        self.race = False

    def credential_by_id(self, db, credential_uuid):
        return self.credentials.get(credential_uuid)

    def set_revocation_bit(self, db, list_id, index):
        self.bits.add((list_id, index))

    def mark_credential_revoked(self, db, credential_uuid, changes, events):
        if self.race:
            self.credentials[credential_uuid]["revoked"] = True
        if self.credentials[credential_uuid]["revoked"]:
            return None
        self.credentials[credential_uuid].update(changes)
        self.events.extend(events)
        return dict(self.credentials[credential_uuid])


@pytest.fixture
def fake(monkeypatch):
    store = FakeStore()
    monkeypatch.setattr(revoking, "store", store)
    monkeypatch.setattr(issuing, "store", store)  # the credential is read through issuing.credential_record
    return store


RUNTIME = SimpleNamespace(db=None)


def test_a_revocation_sets_the_status_bit_marks_the_record_and_announces_it_once(fake):
    revoked = revoking.revoke_credential(RUNTIME, f"urn:uuid:{UUID}", "plagiarised", "admin-1")
    assert revoked["revoked"] and revoked["revocation_reason"] == "plagiarised" and revoked["revoked_by"] == "admin-1"
    assert fake.bits == {("list1", 7)}
    [event] = fake.events
    assert event["type"] == "stint.certificate.revoked.v1" and event["data"]["reason"] == "plagiarised"
    with pytest.raises(AlreadyRevoked):
        revoking.revoke_credential(RUNTIME, UUID, "again", "admin-2")
    assert len(fake.events) == 1


def test_an_admin_who_loses_the_race_to_revoke_is_refused_and_announces_nothing(fake):
    fake.race = True
    with pytest.raises(AlreadyRevoked):
        revoking.revoke_credential(RUNTIME, UUID, "plagiarised", "admin-1")
    assert fake.events == [] and fake.bits == {("list1", 7)}  # the bit is idempotent: the winner set it too


@pytest.mark.parametrize("credential_id", ["not-a-uuid", "urn:uuid:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"])
def test_revoking_what_does_not_exist_is_not_found(fake, credential_id):
    with pytest.raises(NotFound):
        revoking.revoke_credential(RUNTIME, credential_id, "plagiarised", "admin-1")
    assert fake.bits == set()
