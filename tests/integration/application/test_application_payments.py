"""Payments on the real servers: recorded after approval, corrected, confirmed or disputed, each once, with events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.integration.application.app_support import OTHER_ORG, auth_header, outbox_types
from tests.support.samples import today_in_india

TODAY = today_in_india().isoformat()


def pay(calls, bearer, application_id, **overrides):
    body = {"amount": "500.00", "paid_on": TODAY, "reference": "SEPA-2231", **overrides}
    return calls.act(bearer, application_id, "payment", body)


@pytest.fixture
def approved(calls, people, published_listing):
    """An application whose work the employer approved."""
    application_id = calls.submitted(published_listing())
    response = calls.review(people.employer, application_id, "approve", rating=5, hours_verified=30)
    assert response.status_code == 200, response.get_json()
    return application_id


def test_the_employer_records_the_payment_and_the_student_confirms_it(calls, people, db, approved):
    response = pay(calls, people.employer, approved, amount=500)
    assert response.status_code == 200, response.get_json()
    payment = response.get_json()["payment"]
    assert (payment["status"], payment["amount"], payment["currency"]) == ("recorded", "500.00", "EUR")
    assert payment["reference"] == "SEPA-2231"

    confirmed = calls.act(people.student, approved, "payment/confirm")
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["payment"]["status"] == "confirmed"
    assert calls.get(people.employer, approved).get_json()["payment"]["status"] == "confirmed"
    assert outbox_types(db, approved)[-2:] == ["stint.payment.recorded.v1", "stint.payment.confirmed.v1"]


def test_a_plain_paid_on_date_means_the_end_of_that_day_in_india(calls, people, approved):
    response = pay(calls, people.employer, approved, paid_on=TODAY)
    paid_on = datetime.fromisoformat(response.get_json()["payment"]["paid_on"])
    assert paid_on == datetime.fromisoformat(f"{TODAY}T23:59:59.999+05:30")


def test_a_dispute_reaches_the_org_and_a_corrected_record_settles_it(calls, people, db, approved):
    assert pay(calls, people.employer, approved).status_code == 200
    disputed = calls.act(people.student, approved, "payment/dispute", {"reason": "Only half arrived"})
    assert disputed.status_code == 200, disputed.get_json()
    assert disputed.get_json()["payment"]["dispute"]["reason"] == "Only half arrived"

    again = calls.act(people.student, approved, "payment/dispute", {"reason": "Still half"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "payment_already_disputed"

    corrected = pay(calls, people.employer, approved, amount="1000.00", reference="SEPA-2232")
    assert corrected.status_code == 200
    assert corrected.get_json()["payment"]["corrections"] == 1
    assert corrected.get_json()["payment"]["dispute"] is None
    assert outbox_types(db, approved)[-3:] == [
        "stint.payment.recorded.v1",
        "stint.payment.disputed.v1",
        "stint.payment.recorded.v1",
    ]


def _state(db, application_id):
    document = db.applications.find_one({"_id": application_id})
    return (
        document.get("payment"),
        document.get("payment_history"),
        len(document.get("outbox", [])),
        document["version"],
    )


@pytest.mark.parametrize(
    ("who", "path", "body", "status", "code"),
    [
        ("student", "payment", {"amount": 500, "paid_on": TODAY, "reference": "r"}, 403, "wrong_role"),
        ("other_employer", "payment", {"amount": 500, "paid_on": TODAY, "reference": "r"}, 404, None),
        ("employer", "payment", {"amount": 0, "paid_on": TODAY, "reference": "r"}, 422, "validation_failed"),
        ("employer", "payment", {"amount": 500, "paid_on": "tomorrow", "reference": "r"}, 422, "validation_failed"),
        ("employer", "payment", {"amount": 500, "paid_on": "2026-13-45", "reference": "r"}, 422, "validation_failed"),
        (
            "employer",
            "payment",
            {"amount": 500, "paid_on": (today_in_india() + timedelta(days=3)).isoformat(), "reference": "r"},
            422,
            "paid_on_in_future",
        ),
        (
            "employer",
            "payment",
            {"amount": 500, "paid_on": (today_in_india() - timedelta(days=30)).isoformat(), "reference": "r"},
            422,
            "paid_on_before_application",
        ),
        ("employer", "payment", {"amount": 500, "paid_on": TODAY}, 422, "validation_failed"),
        ("employer", "payment/confirm", None, 403, "wrong_role"),
        ("other_student", "payment/confirm", None, 404, None),
        ("student", "payment/confirm", None, 409, "payment_not_recorded"),
        ("student", "payment/dispute", {"reason": "late"}, 409, "payment_not_recorded"),
        ("student", "payment/dispute", {}, 422, "validation_failed"),
        ("student", "payment/dispute", {"reason": "  "}, 422, "validation_failed"),
        ("admin", "payment/dispute", {"reason": "late"}, 403, "wrong_role"),
    ],
)
def test_bad_payment_requests_are_refused_and_change_nothing(
    calls, people, db, approved, who, path, body, status, code
):
    before = _state(db, approved)
    response = calls.act(getattr(people, who), approved, path, body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code
    assert _state(db, approved) == before


def test_a_payment_on_work_not_yet_approved_is_refused(calls, people, db, published_listing):
    application_id = calls.submitted(published_listing())
    response = pay(calls, people.employer, application_id)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "payment_before_approval"
    assert calls.get(people.student, application_id).get_json()["payment"] is None


def test_a_confirmed_payment_cannot_be_recorded_again(calls, people, approved):
    assert pay(calls, people.employer, approved).status_code == 200
    assert calls.act(people.student, approved, "payment/confirm").status_code == 200
    response = pay(calls, people.employer, approved, amount=600)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "payment_already_confirmed"
    assert calls.act(people.student, approved, "payment/confirm").status_code == 409


def test_an_employer_of_another_org_cannot_see_that_the_application_exists(client, approved, token):
    outsider = token("employer", sub="emp-x", org=OTHER_ORG)
    response = client.post(
        f"/applications/{approved}/payment",
        json={"amount": 1, "paid_on": TODAY, "reference": "r"},
        headers=auth_header(outsider),
    )
    assert response.status_code == 404
