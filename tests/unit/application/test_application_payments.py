"""A stint's payment: recorded after approval, corrected until confirmed, confirmed or disputed by the student."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import marshmallow as ma
import pytest

from services.application import domain, event_data
from services.application.domain import Actor
from services.application.schemas import ApplicationSchema, DisputeRequestSchema, PaymentRequestSchema
from shared.errors import Conflict, Unprocessable
from shared.events import encode_event, parse_event
from shared.fields import IST

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)  # 14:30 in India
EMPLOYER = Actor("emp-1", "employer", "acme", "Carla", "carla@acme.example")
STUDENT = Actor("stu-1", "student", None, "Asha", "asha@uni.example")
APPROVED_APP = {
    "_id": "app-1",
    "listing_id": "L-1",
    "listing_title": "Clean up a sales dashboard",
    "org_id": "acme",
    "student_id": "stu-1",
    "student": STUDENT.as_person(),
    "status": "approved",
    "created_at": NOW - timedelta(days=20),
}
PAID = {
    "amount": Decimal("15000.00"),
    "currency": "INR",
    "paid_on": datetime(2026, 12, 9, 23, 59, 59, 999000, tzinfo=IST),
    "reference": "UPI-4471",
}


def recorded(app=APPROVED_APP, **paid):
    return domain.recorded_payment(app, {**PAID, **paid}, EMPLOYER, NOW)


def with_payment(payment: dict) -> dict:
    return {**APPROVED_APP, "payment": payment}


def test_the_employer_records_the_payment_of_approved_work():
    payment = recorded()
    assert payment["status"] == "recorded"
    assert (payment["amount"], payment["currency"], payment["reference"]) == ("15000.00", "INR", "UPI-4471")
    assert payment["corrections"] == 0
    assert payment["recorded_by"]["id"] == "emp-1"


@pytest.mark.parametrize("status", [s for s in domain.STATUSES if s != "approved"])
def test_a_payment_on_work_not_approved_is_refused(status):
    with pytest.raises(Conflict) as error:
        recorded({**APPROVED_APP, "status": status})
    assert error.value.code == "payment_before_approval"


def test_the_employer_may_correct_the_record_until_the_student_confirms():
    first = recorded()
    corrected = recorded(with_payment(first), amount=Decimal("16000"))
    assert corrected["corrections"] == 1
    assert corrected["amount"] == "16000.00"
    disputed = domain.disputed_payment(with_payment(first), "only half arrived", NOW)
    assert recorded(with_payment(disputed))["dispute"] is None  # a corrected record settles the dispute
    confirmed = domain.confirmed_payment(with_payment(first), NOW)
    with pytest.raises(Conflict) as error:
        recorded(with_payment(confirmed))
    assert error.value.code == "payment_already_confirmed"


def test_a_payment_dated_tomorrow_in_india_is_refused_but_today_is_fine():
    today_in_india = NOW.astimezone(IST).date()
    recorded(paid_on=datetime.combine(today_in_india, datetime.max.time(), tzinfo=IST))
    with pytest.raises(Unprocessable) as error:
        recorded(paid_on=datetime.combine(today_in_india + timedelta(days=1), datetime.min.time(), tzinfo=IST))
    assert error.value.code == "paid_on_in_future"


def test_a_payment_dated_before_the_student_applied_is_refused():
    with pytest.raises(Unprocessable) as error:
        recorded(paid_on=NOW - timedelta(days=60))
    assert error.value.code == "paid_on_before_application"


def test_the_student_confirms_or_disputes_only_a_recorded_payment():
    for answer in (
        lambda app: domain.confirmed_payment(app, NOW),
        lambda app: domain.disputed_payment(app, "never came", NOW),
    ):
        with pytest.raises(Conflict) as error:
            answer(APPROVED_APP)
        assert error.value.code == "payment_not_recorded"
    disputed = domain.disputed_payment(with_payment(recorded()), "never came", NOW)
    assert disputed["dispute"] == {"reason": "never came", "raised_at": NOW}
    with pytest.raises(Conflict) as error:
        domain.disputed_payment(with_payment(disputed), "again", NOW)
    assert error.value.code == "payment_already_disputed"
    confirmed = domain.confirmed_payment(with_payment(disputed), NOW)  # the student settles their own dispute
    assert confirmed["status"] == "confirmed"
    for answer in (
        lambda app: domain.confirmed_payment(app, NOW),
        lambda app: domain.disputed_payment(app, "late", NOW),
    ):
        with pytest.raises(Conflict) as error:
            answer(with_payment(confirmed))
        assert error.value.code == "payment_already_confirmed"


@pytest.mark.parametrize("status", ["recorded", "confirmed", "disputed"])
def test_payment_events_pass_the_catalog_and_carry_the_dispute_reason(status):
    payment = recorded()
    if status == "disputed":
        payment = domain.disputed_payment(with_payment(payment), "only half arrived", NOW)
    if status == "confirmed":
        payment = domain.confirmed_payment(with_payment(payment), NOW)
    event = parse_event(encode_event(event_data.payment_event(APPROVED_APP, payment, "recorded")))
    assert event["type"] == f"stint.payment.{status}.v1"
    assert event["subject"] == "app-1"
    assert event["data"]["amount"] == "15000.00"
    assert event["data"]["reason"] == ("only half arrived" if status == "disputed" else "")


def test_the_payment_request_takes_a_plain_date_and_a_positive_amount():
    loaded = PaymentRequestSchema().load({"amount": 15000, "paid_on": "2026-12-09", "reference": "UPI-4471"})
    assert loaded["paid_on"].isoformat() == "2026-12-09T23:59:59.999000+05:30"
    assert loaded["currency"] is None  # the listing's currency
    assert loaded["amount"] == Decimal("15000.00")


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0, "paid_on": "2026-12-09", "reference": "r"},
        {"amount": -5, "paid_on": "2026-12-09", "reference": "r"},
        {"amount": "NaN", "paid_on": "2026-12-09", "reference": "r"},
        {"amount": 100, "paid_on": "9 Dec", "reference": "r"},
        {"amount": 100, "paid_on": "2026-12-09T10:00:00", "reference": "r"},
        {"amount": 100, "paid_on": "2026-12-09", "reference": "   "},
        {"amount": 100, "paid_on": "2026-12-09", "reference": "r", "currency": "rupees"},
        {"amount": 100, "paid_on": "2026-12-09", "reference": "r", "status": "confirmed"},
        {"amount": 100, "reference": "r"},
    ],
)
def test_a_bad_payment_request_is_refused(body):
    with pytest.raises(ma.ValidationError):
        PaymentRequestSchema().load(body)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 2001}])
def test_a_dispute_needs_a_reason(body):
    with pytest.raises(ma.ValidationError):
        DisputeRequestSchema().load(body)


def test_an_application_shows_its_payment_or_none():
    assert ApplicationSchema().dump(APPROVED_APP)["payment"] is None
    shown = ApplicationSchema().dump(with_payment(recorded()))["payment"]
    assert shown["status"] == "recorded"
    assert shown["paid_on"].startswith("2026-12-09T23:59:59.999")
