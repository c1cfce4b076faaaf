"""Schema fields for values people type, shared by the services' HTTP schemas (plumbing, no business rule)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from marshmallow import fields

# India Standard Time: a plain date means the end of that day here (DESIGN §3).
IST = timezone(timedelta(hours=5, minutes=30), "IST")
END_OF_DAY = time(23, 59, 59, 999000)
PLAIN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def end_of_day_in_india(day: date) -> datetime:
    """The last millisecond of `day` in India Standard Time."""
    return datetime.combine(day, END_OF_DAY, tzinfo=IST)


def day_in_india(moment: datetime) -> date:
    """The calendar date `moment` falls on in India Standard Time."""
    return moment.astimezone(IST).date()


class DateOrTimestamp(fields.Field):
    """A moment as people type it: a plain date (`2026-12-10`, the end of that day in India Standard Time) or a
    full ISO 8601 timestamp with its timezone (`2026-12-10T18:00:00+05:30`). Loads a tz-aware datetime."""

    default_error_messages = {
        "invalid": "enter a date like 2026-12-10 or a timestamp with its timezone like 2026-12-10T18:00:00+05:30",
        "naive": "this timestamp has no timezone: add one (e.g. +05:30 or Z), or give just the date",
    }

    def __init__(self, **kwargs):
        described = {
            "type": "string",
            "description": "a date (2026-12-10: the end of that day, India Standard Time) or a timestamp with its "
            "timezone (2026-12-10T18:00:00+05:30)",
            "example": "2026-12-10",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=described, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        text = value.strip()
        try:
            if PLAIN_DATE.match(text):
                return end_of_day_in_india(date.fromisoformat(text))
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.utcoffset() is None:
            raise self.make_error("naive")
        return moment

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat()


class JsonBoolean(fields.Boolean):
    """A boolean that must arrive as JSON true or false (marshmallow alone would also take 0, 1, "yes", "off"...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
