"""Dates people type: a plain date is the end of that day in India; a timestamp needs its timezone."""

from datetime import UTC, datetime, timedelta

import marshmallow as ma
import pytest

from shared.fields import IST, DateOrTimestamp, day_in_india


class When(ma.Schema):
    at = DateOrTimestamp(required=True)


def test_a_plain_date_means_the_last_millisecond_of_that_day_in_india():
    at = When().load({"at": "2026-12-10"})["at"]
    assert at == datetime(2026, 12, 10, 23, 59, 59, 999000, tzinfo=IST)
    assert at.isoformat() == "2026-12-10T23:59:59.999000+05:30"
    assert at.astimezone(UTC) == datetime(2026, 12, 10, 18, 29, 59, 999000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-10T18:00:00+05:30", datetime(2026, 12, 10, 12, 30, tzinfo=UTC)),
        ("2026-12-10T18:00:00Z", datetime(2026, 12, 10, 18, 0, tzinfo=UTC)),
        (" 2026-12-10T18:00:00.5+00:00 ", datetime(2026, 12, 10, 18, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_a_full_timestamp_keeps_its_moment(typed, expected):
    assert When().load({"at": typed})["at"] == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("2026-12-10T18:00:00", "no timezone"),
        ("10/12/2026", "enter a date like 2026-12-10"),
        ("next friday", "enter a date like 2026-12-10"),
        ("2026-02-30", "enter a date like 2026-12-10"),
        ("", "enter a date like 2026-12-10"),
        (20261210, "enter a date like 2026-12-10"),
        ("2026-12-10" + "x" * 100, "enter a date like 2026-12-10"),
    ],
)
def test_anything_else_is_refused_with_a_sentence_saying_what_to_type(typed, says):
    with pytest.raises(ma.ValidationError) as error:
        When().load({"at": typed})
    assert says in error.value.messages["at"][0]


def test_the_day_a_moment_falls_on_is_read_in_india():
    late_evening_utc = datetime(2026, 12, 10, 20, 0, tzinfo=UTC)
    assert day_in_india(late_evening_utc) == (late_evening_utc + timedelta(hours=5, minutes=30)).date()
    assert str(day_in_india(late_evening_utc)) == "2026-12-11"
