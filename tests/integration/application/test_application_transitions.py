"""Shortlist, accept, reject, withdraw: each returns the application as it stands, emits its event, or 409s."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from services.application import decisions, store
from services.application.domain import Actor
from shared.locks import LOCKS as DOCUMENT_LOCKS
from tests.integration.application.app_support import ORG, auth_header, outbox_types

EMPLOYER = Actor("emp-carla", "employer", ORG, "Carla Diaz", "carla@acme.example")


def seat_holders(db, listing_id: str) -> list[str]:
    """The applications holding a seat of the listing."""
    return sorted(seat["application_id"] for seat in store.places_of(db, store.SEATS, listing_id))


def test_an_employer_shortlists_then_accepts_an_applicant(calls, people, published_listing, db):
    application_id = calls.applied(published_listing())

    shortlisted = calls.act(people.employer, application_id, "shortlist", {"note": "strong portfolio"})
    accepted = calls.act(people.employer, application_id, "accept")

    assert shortlisted.status_code == accepted.status_code == 200
    assert shortlisted.get_json()["status"] == "shortlisted"
    application = accepted.get_json()
    assert application["status"] == "accepted"
    assert application["accepted_at"]
    assert [(h["status"], h["previous_status"], h["by"]["id"]) for h in application["history"]] == [
        ("applied", None, "stu-asha"),
        ("shortlisted", "applied", "emp-carla"),
        ("accepted", "shortlisted", "emp-carla"),
    ]
    assert application["history"][1]["note"] == "strong portfolio"
    assert outbox_types(db, application_id) == [
        "stint.application.submitted.v1",
        "stint.application.shortlisted.v1",
        "stint.application.accepted.v1",
    ]
    accepted_event = db.applications.find_one({"_id": application_id})["outbox"][-1]
    assert accepted_event["data"]["status"] == "accepted"
    assert accepted_event["data"]["previous_status"] == "shortlisted"


def test_the_answer_to_a_change_is_the_application_as_stored(calls, people, published_listing, db):
    application_id = calls.applied(published_listing())
    before = store.find_application(db, application_id)

    with store.changing(db, application_id) as changing:
        read = changing.app
        stored = changing.write(store.Change(fields={"status": "shortlisted", "note": "kept"}), [])

    assert read == before  # what the use case decides on: the application as stored, outbox left out
    assert stored == store.find_application(db, application_id)  # the write's own answer, outbox left out
    assert stored["version"] == read["version"] + 1 and "outbox" not in stored
    assert stored["note"] == "kept"
    answered = calls.act(people.employer, application_id, "accept").get_json()
    assert answered == calls.get(people.employer, application_id).get_json()


def test_an_employer_rejects_an_applicant(calls, people, published_listing, db):
    application_id = calls.applied(published_listing())

    response = calls.act(people.employer, application_id, "reject", {"note": "not enough SQL yet"})

    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert outbox_types(db, application_id)[-1] == "stint.application.rejected.v1"


def test_a_student_withdraws_their_application(calls, people, published_listing, db):
    application_id = calls.applied(published_listing())

    response = calls.act(people.student, application_id, "withdraw")

    assert response.status_code == 200
    assert response.get_json()["status"] == "withdrawn"
    assert outbox_types(db, application_id)[-1] == "stint.application.withdrawn.v1"


@pytest.mark.parametrize(
    ("setup", "action", "who"),
    [
        (["reject"], "shortlist", "employer"),
        (["reject"], "accept", "employer"),
        (["reject"], "withdraw", "student"),
        (["withdraw"], "accept", "employer"),
        (["withdraw"], "reject", "employer"),
        (["shortlist"], "shortlist", "employer"),
        (["accept"], "accept", "employer"),
        (["accept"], "shortlist", "employer"),
    ],
)
def test_an_illegal_transition_is_a_409_and_changes_nothing(calls, people, published_listing, db, setup, action, who):
    application_id = calls.applied(published_listing())
    for step in setup:
        bearer = people.student if step == "withdraw" else people.employer
        assert calls.act(bearer, application_id, step).status_code == 200
    before = calls.get(people.student, application_id).get_json()

    response = calls.act(getattr(people, who), application_id, action)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "illegal_transition"
    assert calls.get(people.student, application_id).get_json() == before


def test_an_employer_of_another_org_cannot_find_the_application(calls, people, published_listing):
    application_id = calls.applied(published_listing())

    response = calls.act(people.other_employer, application_id, "accept")

    assert response.status_code == 404
    assert calls.get(people.student, application_id).get_json()["status"] == "applied"


def test_accepting_takes_a_seat_and_withdrawing_gives_it_back(calls, people, published_listing, db, token):
    listing = published_listing(seats=1)
    first = calls.accepted(listing)
    second = calls.applied(listing, token("student", sub="stu-chen"))

    full = calls.act(people.employer, second, "accept")
    calls.act(people.student, first, "withdraw")
    after_withdrawal = calls.act(people.employer, second, "accept")

    assert full.status_code == 409
    assert full.get_json()["error"] == {
        "code": "no_seats_left",
        "message": "all 1 seat(s) of this listing are taken",
        "details": {"seats": 1},
    }
    assert after_withdrawal.status_code == 200
    assert seat_holders(db, listing["listing_id"]) == [second]


def test_rejecting_an_accepted_applicant_gives_the_seat_back(calls, people, published_listing, db):
    listing = published_listing(seats=1)
    application_id = calls.accepted(listing)

    calls.act(people.employer, application_id, "reject")

    assert seat_holders(db, listing["listing_id"]) == []


def test_an_accept_retried_after_a_crash_between_its_two_writes_completes(calls, people, published_listing, db):
    listing = published_listing(seats=1)
    application_id = calls.applied(listing)
    # the crash: the seat was reserved, the application never moved
    assert store.take_place(db, store.SEATS, listing["listing_id"], 1, application_id, datetime.now(UTC))

    retried = calls.act(people.employer, application_id, "accept")

    assert retried.status_code == 200
    assert retried.get_json()["status"] == "accepted"
    assert seat_holders(db, listing["listing_id"]) == [application_id]


def test_a_seat_left_behind_by_a_crashed_withdrawal_is_reclaimed(calls, people, published_listing, db, token):
    listing = published_listing(seats=1)
    first = calls.accepted(listing)
    # the crash: the application was withdrawn but its seat was never released
    db.applications.update_one({"_id": first}, {"$set": {"status": "withdrawn"}})
    second = calls.applied(listing, token("student", sub="stu-chen"))

    response = calls.act(people.employer, second, "accept")

    assert response.status_code == 200
    assert seat_holders(db, listing["listing_id"]) == [second]


def test_a_withdrawal_made_during_an_accept_waits_for_it_then_gives_the_seat_back(
    calls, people, published_listing, db, monkeypatch
):
    listing = published_listing(seats=1)
    application_id = calls.applied(listing)
    original = store.Changing.write
    answers = []
    withdrawal = threading.Thread(target=lambda: answers.append(calls.act(people.student, application_id, "withdraw")))

    def withdraw_meanwhile(self, change, events):
        # the student withdraws between the seat the accept took and the accept's own write
        monkeypatch.setattr(store.Changing, "write", original)
        withdrawal.start()
        withdrawal.join(timeout=0.5)
        assert withdrawal.is_alive()  # waiting for the application the accept holds
        return original(self, change, events)

    monkeypatch.setattr(store.Changing, "write", withdraw_meanwhile)
    accepted = decisions.accept(db, EMPLOYER, application_id)
    withdrawal.join(timeout=10)

    assert accepted["status"] == "accepted"
    assert [answer.status_code for answer in answers] == [200]
    assert answers[0].get_json()["status"] == "withdrawn"
    assert seat_holders(db, listing["listing_id"]) == []
    assert [h["status"] for h in calls.get(people.student, application_id).get_json()["history"]] == [
        "applied",
        "accepted",
        "withdrawn",
    ]


def test_twenty_simultaneous_accepts_fill_exactly_the_three_seats(app, calls, people, published_listing, db, token):
    listing = published_listing(seats=3)
    applicants = [calls.applied(listing, token("student", sub=f"stu-{n}")) for n in range(20)]
    start = threading.Barrier(len(applicants))
    answers: dict[str, object] = {}

    def accept(application_id):
        client = app.test_client()
        start.wait()
        answers[application_id] = client.post(
            f"/applications/{application_id}/accept", headers=auth_header(people.employer)
        )

    threads = [threading.Thread(target=accept, args=(a,)) for a in applicants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in answers.values())
    assert statuses == [200] * 3 + [409] * 17
    refusals = {r.get_json()["error"]["code"] for r in answers.values() if r.status_code == 409}
    assert refusals == {"no_seats_left"}
    assert db.applications.count_documents({"listing_id": listing["listing_id"], "status": "accepted"}) == 3
    assert seat_holders(db, listing["listing_id"]) == sorted(a for a, r in answers.items() if r.status_code == 200)


def test_a_seat_reserved_by_an_accept_that_never_finished_is_reclaimed_later(
    calls, people, published_listing, db, token
):
    listing = published_listing(seats=1)
    abandoned = calls.applied(listing)
    # the crash, three minutes ago: a seat was reserved, the application never moved, nobody retried
    store.take_place(db, store.SEATS, listing["listing_id"], 1, abandoned, datetime.now(UTC) - timedelta(minutes=3))
    other = calls.applied(listing, token("student", sub="stu-chen"))

    response = calls.act(people.employer, other, "accept")

    assert response.status_code == 200
    assert seat_holders(db, listing["listing_id"]) == [other]


def test_simultaneous_changes_to_one_application_let_exactly_one_through(app, people, published_listing, calls, db):
    application_id = calls.applied(published_listing())
    start = threading.Barrier(10)
    statuses = []

    def reject():
        client = app.test_client()
        start.wait()
        statuses.append(
            client.post(f"/applications/{application_id}/reject", headers=auth_header(people.employer)).status_code
        )

    threads = [threading.Thread(target=reject) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 9
    document = db.applications.find_one({"_id": application_id})
    assert [h["status"] for h in document["history"]] == ["applied", "rejected"]
    assert outbox_types(db, application_id) == ["stint.application.submitted.v1", "stint.application.rejected.v1"]


def test_a_change_left_half_done_by_a_crash_does_not_block_the_application(calls, people, published_listing, db):
    application_id = calls.applied(published_listing())
    # a process took the application's write lock to change it, then died
    db[DOCUMENT_LOCKS].insert_one(
        {"_id": f"applications/{application_id}", "token": "dead", "taken_at": datetime.now(UTC) - timedelta(minutes=1)}
    )

    response = calls.act(people.employer, application_id, "shortlist")

    assert response.status_code == 200
    assert response.get_json()["status"] == "shortlisted"


def test_a_change_held_up_by_another_writer_asks_the_client_to_retry(calls, people, published_listing, db):
    application_id = calls.applied(published_listing())
    db[DOCUMENT_LOCKS].insert_one(
        {"_id": f"applications/{application_id}", "token": "busy", "taken_at": datetime.now(UTC)}
    )

    response = calls.act(people.employer, application_id, "shortlist")

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "document_busy"
    assert response.headers["Retry-After"] == "2"
    assert calls.get(people.student, application_id).get_json()["status"] == "applied"
