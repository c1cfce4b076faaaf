"""HTTP views: the in-app inbox, channel preferences and organisations' webhooks."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from services.notification import handlers
from services.notification.schemas import (
    DeliveryPageSchema,
    InboxQuerySchema,
    NotificationPageSchema,
    NotificationSchema,
    PreferencesSchema,
    WebhookCreateSchema,
    WebhookPageSchema,
    WebhookSchema,
)
from shared.auth import current_principal, require
from shared.errors import ErrorSchema
from shared.pagination import PageQuerySchema
from shared.web import current_db

inbox = Blueprint("notifications", __name__, description="The in-app inbox of a user and their organisation")
preferences = Blueprint("preferences", __name__, description="Which channels a user hears on")
webhooks = Blueprint("webhooks", __name__, description="Signed event calls to an organisation's endpoints")
BLUEPRINTS = (inbox, preferences, webhooks)
ORG_ROLES = ("employer", "university")


@inbox.route("/notifications", methods=["GET"])
@inbox.response(200, NotificationPageSchema)
@inbox.alt_response(400, schema=ErrorSchema, description="bad cursor")
@require()
@inbox.arguments(InboxQuerySchema, location="query", as_kwargs=True, unknown=ma.RAISE)
def list_notifications(unread, limit, cursor):
    """The caller's inbox and, for employers and universities, their organisation's; newest first. Each recipient's
    newest 1,000 entries are listed (and counted as unread); older ones stay stored but leave the list."""
    items, next_cursor = handlers.list_inbox(current_db(), current_principal(), unread, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@inbox.route("/notifications/<entry_id>/read", methods=["POST"])
@inbox.response(200, NotificationSchema)
@inbox.alt_response(404, schema=ErrorSchema, description="not the caller's notification")
@require()
def read_notification(entry_id):
    """Mark one of the caller's notifications read."""
    return handlers.mark_read(current_db(), current_principal(), entry_id)


@preferences.route("/preferences", methods=["GET"])
@preferences.response(200, PreferencesSchema)
@require()
def get_preferences():
    """The caller's channel preferences."""
    return handlers.get_preferences(current_db(), current_principal())


@preferences.route("/preferences", methods=["PUT"])
@preferences.response(200, PreferencesSchema)
@preferences.alt_response(422, schema=ErrorSchema)
@require()
@preferences.arguments(PreferencesSchema)
def put_preferences(values):
    """Turn the caller's channels (in_app, email, webhook) on or off."""
    return handlers.set_preferences(current_db(), current_principal(), values)


@webhooks.route("/webhooks", methods=["POST"])
@webhooks.response(201, WebhookSchema)
@webhooks.alt_response(409, schema=ErrorSchema, description="too many webhooks")
@webhooks.alt_response(422, schema=ErrorSchema, description="invalid body or a URL the platform will not call")
@require(*ORG_ROLES)
@webhooks.arguments(WebhookCreateSchema)
def create_webhook(body):
    """Register an endpoint for the caller's organisation."""
    production = current_app.extensions["stint_settings"].env == "production"
    return handlers.register_webhook(
        current_db(), current_principal(), body["url"], body["secret"], body["event_types"], production
    )


@webhooks.route("/webhooks", methods=["GET"])
@webhooks.response(200, WebhookPageSchema)
@require(*ORG_ROLES)
@webhooks.arguments(PageQuerySchema, location="query", as_kwargs=True, unknown=ma.RAISE)
def list_webhooks(limit, cursor):
    """The caller's organisation's endpoints."""
    items, next_cursor = handlers.list_webhooks(current_db(), current_principal(), limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@webhooks.route("/webhooks/<webhook_id>", methods=["DELETE"])
@webhooks.response(204)
@webhooks.alt_response(404, schema=ErrorSchema)
@require(*ORG_ROLES)
def delete_webhook(webhook_id):
    """Remove an endpoint; what was still queued for it is cancelled."""
    handlers.remove_webhook(current_db(), current_principal(), webhook_id)


@webhooks.route("/webhooks/<webhook_id>/deliveries", methods=["GET"])
@webhooks.response(200, DeliveryPageSchema)
@webhooks.alt_response(404, schema=ErrorSchema)
@require(*ORG_ROLES)
@webhooks.arguments(PageQuerySchema, location="query", as_kwargs=True, unknown=ma.RAISE)
def list_deliveries(webhook_id, limit, cursor):
    """An endpoint's delivery log: every attempt with its time, status code or error, and duration."""
    items, next_cursor = handlers.list_deliveries(current_db(), current_principal(), webhook_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}
