"""Cursor pagination: `limit` and an opaque `cursor`, answered as {"items": [...], "next_cursor": ...}."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

import marshmallow as ma
from bson import json_util
from pymongo import ASCENDING, DESCENDING

from shared.errors import BadRequest

MAX_LIMIT = 100
# Times come back as they went in: aware, in UTC (the services' MongoClient is tz_aware too).
_AWARE = json_util.DEFAULT_JSON_OPTIONS.with_options(tz_aware=True, tzinfo=UTC)


class PageQuerySchema(ma.Schema):
    """Query arguments every list endpoint accepts."""

    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=MAX_LIMIT))
    # Documented as what we make (url-safe base64); anything else is answered 400 invalid_cursor by decode_cursor.
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=500),
        metadata={"pattern": "^[A-Za-z0-9_-]*$", "description": "the next_cursor of the previous page"},
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A response schema for a page of `item_schema` items."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        },
        name=name,
    )


def encode_cursor(values: list) -> str:
    """An opaque cursor for the sort values of the last item shown."""
    return base64.urlsafe_b64encode(json_util.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    """The sort values inside a cursor; BadRequest when it was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json_util.loads(base64.urlsafe_b64decode(padded.encode()), json_options=_AWARE)
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError):
        raise BadRequest("the cursor is not valid", code="invalid_cursor") from None
    # Only the (time, id) pairs `paginate` makes: a forged cursor must not smuggle query operators into a filter.
    if not (
        isinstance(values, list) and len(values) == 2 and isinstance(values[0], datetime) and isinstance(values[1], str)
    ):
        raise BadRequest("the cursor is not valid", code="invalid_cursor")
    return values


def paginate(
    collection,
    query: dict,
    limit: int,
    cursor: str | None,
    sort_field: str = "created_at",
    newest_first: bool = True,
    projection: dict | None = None,
) -> tuple[list[dict], str | None]:
    """One page of `query`, ordered by (`sort_field`, a time; `_id`, a string), and the cursor of the next page."""
    direction = DESCENDING if newest_first else ASCENDING
    beyond = "$lt" if newest_first else "$gt"
    if cursor:
        last_value, last_id = decode_cursor(cursor)
        query = {
            "$and": [
                query,
                {"$or": [{sort_field: {beyond: last_value}}, {sort_field: last_value, "_id": {beyond: last_id}}]},
            ]
        }
    documents = list(
        collection.find(query, projection).sort([(sort_field, direction), ("_id", direction)]).limit(limit + 1)
    )
    return cut_page(documents, limit, sort_field)


def cut_page(documents: list[dict], limit: int, sort_field: str) -> tuple[list[dict], str | None]:
    """The first `limit` of up to `limit + 1` documents in page order, and the next page's cursor (None when the
    extra one is not there, so this page is the last)."""
    if len(documents) <= limit:
        return documents, None
    page = documents[:limit]
    return page, encode_cursor([page[-1].get(sort_field), page[-1]["_id"]])
