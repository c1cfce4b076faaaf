"""HTTP views of the listing service: parse, call a handler, return."""

from __future__ import annotations

import re

from flask import current_app, request
from flask_smorest import Blueprint

from services.listing import handlers
from services.listing.schemas import (
    ListingCreateSchema,
    ListingPageSchema,
    ListingPatchSchema,
    ListingSchema,
    ListingSearchQuerySchema,
    OrgProfileSchema,
    OrgSchema,
)
from shared.auth import current_principal, optional_principal, require
from shared.errors import ErrorSchema, Forbidden

orgs = Blueprint("orgs", __name__, url_prefix="/orgs", description="Organisations that post listings")
listings = Blueprint("listings", __name__, url_prefix="/listings", description="Micro-internship listings")

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
ERROR_DESCRIPTIONS = {
    400: "Bad request (e.g. a cursor this service did not make)",
    401: "No valid bearer token",
    403: "The caller's role may not do this",
    404: "Not found, or not the caller's organisation's",
    409: "The resource's state does not allow it",
    422: "The input did not validate",
}
PUBLIC = [{}]
OPTIONAL_AUTH = [{}, {"bearerAuth": []}]


def errors(blp: Blueprint, *statuses: int):
    """Document the error responses a view can give, all in the one error shape."""

    def decorate(view):
        for status in statuses:
            view = blp.alt_response(status, schema=ErrorSchema, description=ERROR_DESCRIPTIONS[status])(view)
        return view

    return decorate


def _db():
    return current_app.extensions["stint_db"]


def _traceparent() -> str | None:
    """The caller's W3C trace context, passed on to the events this request causes."""
    value = request.headers.get("traceparent", "")
    return value if TRACEPARENT.match(value) else None


# ---- organisations ---------------------------------------------------------------------


@orgs.route("/me", methods=["PUT"])
@require("employer")
@orgs.arguments(OrgProfileSchema)
@orgs.response(200, OrgSchema)
@errors(orgs, 401, 403)
def put_my_org(profile):
    """Register the caller's organisation (it starts pending) or update its profile."""
    caller = current_principal()
    return handlers.register_org(_db(), caller.org, profile, caller.email, caller.sub, _traceparent())


@orgs.route("/<string(maxlength=200):org_id>")
@orgs.response(200, OrgSchema)
@errors(orgs, 404)
@orgs.doc(security=PUBLIC)
def get_org(org_id):
    """An organisation's public profile."""
    return handlers.get_org(_db(), org_id)


@orgs.route("/<string(maxlength=200):org_id>/verify", methods=["POST"])
@require("admin")
@orgs.response(200, OrgSchema)
@errors(orgs, 401, 403, 404)
def verify_org(org_id):
    """Mark an organisation verified, so it can publish listings (admin; verifying again is harmless)."""
    return handlers.verify_org(_db(), org_id, current_principal().sub, _traceparent())


# ---- listings --------------------------------------------------------------------------


@listings.route("", methods=["POST"])
@require("employer")
@listings.arguments(ListingCreateSchema)
@listings.response(201, ListingSchema)
@errors(listings, 401, 403, 409)
def create_listing(fields):
    """Write a draft listing for the caller's organisation."""
    caller = current_principal()
    return handlers.create_listing(_db(), caller.org, fields, caller.sub)


@listings.route("", methods=["GET"])
@listings.arguments(ListingSearchQuerySchema, location="query")
@listings.response(200, ListingPageSchema)
@errors(listings, 400, 401, 403)
@listings.doc(security=OPTIONAL_AUTH)
def search_listings(args):
    """Search published listings open for applications, newest first; `mine=1` lists the employer's own."""
    limit, cursor = args.pop("limit"), args.pop("cursor")
    if args.pop("mine"):
        caller = current_principal()
        if caller.role != "employer":
            raise Forbidden("only employers have listings of their own", code="wrong_role")
        items, next_cursor = handlers.list_org_listings(_db(), caller.org, limit, cursor)
    else:
        items, next_cursor = handlers.search_listings(_db(), args, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@listings.route("/<uuid:listing_id>", methods=["GET"])
@listings.response(200, ListingSchema)
@errors(listings, 401, 404)
@listings.doc(security=OPTIONAL_AUTH)
def get_listing(listing_id):
    """One published or closed listing with its seats left; a draft only for its own organisation."""
    caller = optional_principal()
    return handlers.get_listing(_db(), str(listing_id), caller.org if caller else None)


@listings.route("/<uuid:listing_id>", methods=["PATCH"])
@require("employer")
@listings.arguments(ListingPatchSchema, required=False)  # nothing to change is a harmless no-op
@listings.response(200, ListingSchema)
@errors(listings, 401, 403, 404, 409)
def edit_listing(changes, listing_id):
    """Edit a draft or published listing of the caller's organisation (published ones announce it)."""
    return handlers.edit_listing(_db(), str(listing_id), current_principal().org, changes, _traceparent())


@listings.route("/<uuid:listing_id>/publish", methods=["POST"])
@require("employer")
@listings.response(200, ListingSchema)
@errors(listings, 401, 403, 404, 409, 422)
def publish_listing(listing_id):
    """Publish a draft; the organisation must be verified and the deadline ahead."""
    return handlers.publish_listing(_db(), str(listing_id), current_principal().org, _traceparent())


@listings.route("/<uuid:listing_id>/close", methods=["POST"])
@require("employer")
@listings.response(200, ListingSchema)
@errors(listings, 401, 403, 404, 409)
def close_listing(listing_id):
    """Close a published listing to new applications."""
    return handlers.close_listing(_db(), str(listing_id), current_principal().org, _traceparent())
