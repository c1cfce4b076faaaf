"""HTTP request and response schemas of the notification service (unknown fields are rejected)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields
from marshmallow import validate as v

from services.notification.domain import ANY_EVENT_TYPE
from shared.events import CATALOG
from shared.fields import JsonBoolean
from shared.pagination import PageQuerySchema, page_schema

SUBSCRIBABLE_TYPES = [*sorted(CATALOG), ANY_EVENT_TYPE]


class InboxQuerySchema(PageQuerySchema):
    """`GET /notifications` arguments."""

    unread = fields.Boolean(load_default=False, metadata={"description": "1 to list unread entries only"})


class NotificationSchema(ma.Schema):
    """One inbox entry."""

    id = fields.String(attribute="_id", dump_only=True)
    recipient = fields.String(metadata={"description": "user:<id> or org:<id>"})
    event_id = fields.String()
    event_type = fields.String()
    title = fields.String()
    body = fields.String()
    link = fields.String(allow_none=True)
    read = fields.Boolean()
    read_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")


class PreferencesSchema(ma.Schema):
    """A user's channels; all on until turned off."""

    in_app = JsonBoolean(required=True)
    email = JsonBoolean(required=True)
    webhook = JsonBoolean(
        required=True,
        metadata={"description": "kept for the user; organisation webhooks follow their own registration"},
    )
    updated_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class WebhookCreateSchema(ma.Schema):
    """`POST /webhooks` body."""

    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, validate=v.Length(max=2000))
    secret = fields.String(
        required=True,
        load_only=True,
        validate=v.Length(min=16, max=200),
        metadata={"description": "signs every call (X-Stint-Signature); never shown again"},
    )
    event_types = fields.List(
        fields.String(validate=v.OneOf(SUBSCRIBABLE_TYPES)),
        required=True,
        validate=v.Length(min=1, max=len(SUBSCRIBABLE_TYPES)),
        metadata={"description": 'catalog event types, or "*" for all'},
    )


class WebhookSchema(ma.Schema):
    """A registered endpoint (its secret is never returned, only a hint)."""

    id = fields.String(attribute="_id", dump_only=True)
    url = fields.String()
    event_types = fields.List(fields.String())
    secret_hint = fields.String()
    enabled = fields.Boolean()
    disabled_at = fields.AwareDateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


WebhookPageSchema = page_schema(WebhookSchema, "WebhookPage")


class AttemptSchema(ma.Schema):
    """One try at a delivery."""

    number = fields.Integer()
    at = fields.AwareDateTime()
    status_code = fields.Integer(allow_none=True, metadata={"description": "the endpoint's HTTP status"})
    error = fields.String(allow_none=True, metadata={"description": "why the attempt failed"})
    duration_ms = fields.Integer(allow_none=True)


class DeliverySchema(ma.Schema):
    """One event's delivery to an endpoint, with every attempt."""

    id = fields.String(attribute="_id", dump_only=True)
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(metadata={"description": "pending, delivered, failed or cancelled"})
    attempt_count = fields.Integer()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    attempts = fields.List(fields.Nested(AttemptSchema))


DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPage")
