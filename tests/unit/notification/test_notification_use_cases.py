"""The notification worker's use cases (services/notification/handlers.py) on a small fake store: who hears a
listing closed, whether its closing or their application arrives first, and an organisation told by email."""

from __future__ import annotations

import pytest

from services.notification import handlers
from services.notification.domain import OPEN_APPLICATION_STATUSES
from shared.events import new_event, read_event
from tests.unit.notification.notification_samples import LISTING_ID, ORG_ID, sample_data, sample_event, student


class FakeStore:
    """The store functions the consumer's use cases call, over dicts and lists (keyed writes skip duplicates)."""

    def __init__(self):
        self.orgs: dict[str, dict] = {}
        self.applications: dict[str, dict] = {}
        self.closings: dict[str, object] = {}
        self.inbox: dict[str, dict] = {}
        self.emails: dict[str, dict] = {}

    def remember_org(self, db, org_id, name, status, contact_email, at) -> None:
        self.orgs[org_id] = {"_id": org_id, "name": name, "status": status, "contact_email": contact_email}

    def find_org(self, db, org_id):
        return self.orgs.get(org_id)

    def remember_application(self, db, application_id, listing_id, student, status, at) -> None:
        self.applications[application_id] = {"_id": application_id, "listing_id": listing_id} | {
            "student": student,
            "status": status,
        }

    def remember_closed_listing(self, db, event) -> None:
        self.closings.setdefault(event.data.listing_id, event)

    def closing_of(self, db, listing_id):
        return self.closings.get(listing_id)

    def open_applications(self, db, listing_id):
        return [
            a
            for a in self.applications.values()
            if a["listing_id"] == listing_id and a["status"] in OPEN_APPLICATION_STATUSES
        ]

    def preferences_of(self, db, subs):
        return {}

    def _insert_new(self, into: dict, documents: list[dict]) -> int:
        new = [d for d in documents if d["_id"] not in into]
        into.update({d["_id"]: d for d in new})
        return len(new)

    def add_to_inbox(self, db, entries):
        return self._insert_new(self.inbox, entries)

    def queue_emails(self, db, emails):
        return self._insert_new(self.emails, emails)

    def queue_webhook_calls(self, db, calls):
        return len(calls)

    def webhooks_listening(self, db, org_id, event_type):
        return []


@pytest.fixture
def fake(monkeypatch):
    store = FakeStore()
    monkeypatch.setattr(handlers, "store", store)
    return store


def applied(application_id: str, sub: str, status: str = "submitted"):
    event_type = f"stint.application.{status}.v1"
    return read_event(sample_event(event_type, application_id=application_id, person=student(sub, name=sub)))


def closing(*seat_holders: str):
    data = sample_data("stint.listing.closed.v1") | {"accepted_applications": list(seat_holders)}
    return read_event(new_event("stint.listing.closed.v1", "listing", LISTING_ID, data))


def told_of_closing(fake) -> set[str]:
    return {e["recipient"] for e in fake.inbox.values() if e["event_type"] == "stint.listing.closed.v1"}


def test_a_closing_tells_the_applicants_still_waiting_but_never_the_seat_holders(fake):
    handlers.on_application_event(None, applied("app-1", "asha"))
    handlers.on_application_event(None, applied("app-2", "ben"))
    handlers.on_application_event(None, applied("app-3", "chitra"))
    handlers.on_application_event(None, applied("app-3", "chitra", status="rejected"))
    handlers.on_listing_closed(None, closing("app-2"))  # Ben's acceptance, not yet read here, filled the last seat
    assert told_of_closing(fake) == {"user:asha"}


def test_an_applicant_heard_of_after_the_closing_is_told_once_and_a_seat_holder_not_at_all(fake):
    handlers.on_listing_closed(None, closing("app-2"))
    assert told_of_closing(fake) == set()
    counts = handlers.on_application_event(None, applied("app-1", "asha"))
    assert told_of_closing(fake) == {"user:asha"} and counts["in_app"] == 2  # its own news and the closing
    handlers.on_application_event(None, applied("app-1", "asha", status="shortlisted"))  # heard again later
    handlers.on_application_event(None, applied("app-2", "ben"))
    assert told_of_closing(fake) == {"user:asha"}
    assert sum(e["event_type"] == "stint.listing.closed.v1" for e in fake.inbox.values()) == 1


def test_an_organisation_is_remembered_from_its_event_and_emailed_at_its_contact_address(fake):
    event = read_event(sample_event("stint.org.verified.v1", contact_email="team@acme.example"))
    handlers.on_org_event(None, event)
    assert fake.orgs[ORG_ID]["contact_email"] == "team@acme.example" and fake.orgs[ORG_ID]["status"] == "verified"
    assert [e["to"] for e in fake.emails.values()] == ["team@acme.example"]
    handlers.on_org_event(None, event)  # redelivered
    assert len(fake.emails) == 1
