"""Universities' use cases (services/certification/universities.py, credits.py's policy) on a small fake store:
what a registrar and an admin see when registering, changing, verifying (again, or racing another admin)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.errors import DuplicateKeyError

from services.certification import credits, universities
from services.certification.domain import AisheCodeLocked, AisheCodeTaken
from shared.auth import Principal

REGISTRAR = Principal(sub="reg-1", role="university", org="iitm", email="registrar@iitm.example")
PROFILE = {"name": "IIT Madras", "aishe_code": "U-0001", "website": "https://iitm.example"}


class FakeStore:
    """The store functions these use cases call, over dicts; `verify_race` makes the next guarded verification
    find the university verified by someone else first."""

    def __init__(self):
        self.universities: dict[str, dict] = {}
        self.policies: dict[str, dict] = {}
        self.verify_race = False

    def university(self, db, university_id: str) -> dict | None:
        return self.universities.get(university_id)

    def university_with_aishe_code(self, db, code: str) -> dict | None:
        return next((u for u in self.universities.values() if u["aishe_code"] == code), None)

    def insert_university(self, db, document: dict) -> None:
        if document["_id"] in self.universities or self.university_with_aishe_code(db, document["aishe_code"]):
            raise DuplicateKeyError("taken")
        self.universities[document["_id"]] = document

    def update_university_profile(self, db, university_id: str, values: dict) -> dict | None:
        self.universities[university_id] = {**self.universities[university_id], **values}
        return self.universities[university_id]

    def mark_university_verified(self, db, university_id: str, changes: dict, events: list[dict]) -> dict | None:
        stored = self.universities[university_id]
        if self.verify_race:
            self.universities[university_id] = {**stored, "status": "verified", "verified_by": "admin-2"}
            return None
        if stored["status"] != "pending":
            return None
        self.universities[university_id] = {**stored, **changes, "outbox": [*stored["outbox"], *events]}
        return self.universities[university_id]

    def save_policy(self, db, org: str, hours_per_credit: float, min_hours: float, by: str, now: datetime) -> None:
        values = {"hours_per_credit": hours_per_credit, "min_hours": min_hours, "updated_at": now, "updated_by": by}
        self.policies[org] = {"_id": org, **values}

    def policy_of(self, db, org: str) -> dict | None:
        return self.policies.get(org)


@pytest.fixture
def fake(monkeypatch):
    store = FakeStore()
    monkeypatch.setattr(universities, "store", store)
    monkeypatch.setattr(credits, "store", store)
    return store


def announced(fake) -> list[str]:
    return [event["type"] for event in fake.universities["iitm"]["outbox"]]


def test_a_first_registration_is_pending_and_announced_and_a_second_changes_the_profile_only(fake):
    university = universities.register_university(None, REGISTRAR, PROFILE)
    assert university["status"] == "pending" and university["contact_email"] == "registrar@iitm.example"
    assert announced(fake) == ["stint.university.registered.v1"]
    renamed = universities.register_university(None, REGISTRAR, {**PROFILE, "name": "IIT Madras (Chennai)"})
    assert renamed["name"] == "IIT Madras (Chennai)" and announced(fake) == ["stint.university.registered.v1"]


def test_an_aishe_code_another_university_holds_is_refused_on_registering_and_on_changing(fake):
    universities.register_university(None, REGISTRAR, PROFILE)
    other = Principal(sub="reg-2", role="university", org="annauniv", email="r@annauniv.example")
    with pytest.raises(AisheCodeTaken):
        universities.register_university(None, other, {**PROFILE, "name": "Anna University"})
    universities.register_university(None, other, {**PROFILE, "name": "Anna University", "aishe_code": "U-0002"})
    with pytest.raises(AisheCodeTaken):
        universities.register_university(None, other, {**PROFILE, "name": "Anna University"})
    assert fake.universities["annauniv"]["aishe_code"] == "U-0002"


def test_verifying_announces_once_and_locks_the_aishe_code(fake):
    universities.register_university(None, REGISTRAR, PROFILE)
    verified = universities.verify_university(None, "iitm", "admin-1")
    assert verified["status"] == "verified" and verified["verified_by"] == "admin-1"
    again = universities.verify_university(None, "iitm", "admin-2")
    assert again["verified_by"] == "admin-1"
    assert announced(fake) == ["stint.university.registered.v1", "stint.university.verified.v1"]
    with pytest.raises(AisheCodeLocked):
        universities.register_university(None, REGISTRAR, {**PROFILE, "aishe_code": "U-9999"})


def test_an_admin_who_loses_the_race_to_verify_sees_the_winners_verification(fake):
    universities.register_university(None, REGISTRAR, PROFILE)
    fake.verify_race = True
    assert universities.verify_university(None, "iitm", "admin-1")["verified_by"] == "admin-2"
    assert announced(fake) == ["stint.university.registered.v1"]  # the winner announced it, not the loser


def test_a_university_without_a_policy_reads_the_default_and_sets_its_own(fake):
    default = credits.policy_view(None, "iitm")
    assert default["updated_at"] is None
    shown = credits.set_policy(None, REGISTRAR, hours_per_credit=25, min_hours=10)
    assert (shown["hours_per_credit"], shown["min_hours"]) == (25, 10)
    assert shown["updated_at"] <= datetime.now(UTC) and fake.policies["iitm"]["updated_by"] == "reg-1"
