"""HTTP views of the listing service: parse, call a handler, return."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_smorest import Blueprint

from services.listing import accounts, handlers
from services.listing.schemas import (
    AccountSchema,
    CategoryListSchema,
    InvitationCreateSchema,
    InvitationPageSchema,
    InvitationSchema,
    ListingCreateSchema,
    ListingPageSchema,
    ListingPatchSchema,
    ListingSchema,
    ListingSearchQuerySchema,
    OrgPageSchema,
    OrgProfileSchema,
    OrgQuerySchema,
    OrgSchema,
    RoleChoiceSchema,
    RoleGrantSchema,
    listing_page,
)
from shared.auth import check_role, current_principal, optional_principal, require, require_account
from shared.pagination import PageQuerySchema
from shared.web import current_db, documents_errors, traceparent

orgs = Blueprint("orgs", __name__, url_prefix="/orgs", description="Organisations that post listings")
listings = Blueprint("listings", __name__, url_prefix="/listings", description="Micro-internship listings")
categories = Blueprint("categories", __name__, url_prefix="/categories", description="Work domains of listings")
people = Blueprint(
    "accounts", __name__, url_prefix="", description="Accounts: choosing a role, joining an organisation, grants"
)

ERROR_DESCRIPTIONS = {
    400: "Bad request (e.g. a cursor this service did not make)",
    401: "No valid bearer token",
    403: "The caller's role may not do this",
    404: "Not found, or not the caller's organisation's (or, for accounts, no such account)",
    409: "The resource's state does not allow it",
    422: "The input did not validate",
    503: "The identity provider (or the database) cannot be reached now",
}
PUBLIC = [{}]
OPTIONAL_AUTH = [{}, {"bearerAuth": []}]


def errors(blp: Blueprint, *statuses: int):
    """Document the error responses a view can give, all in the one error shape, with what each means here."""
    return documents_errors(blp, ERROR_DESCRIPTIONS, *statuses)


def _idp():
    return current_app.extensions["stint_identity_provider"]


def _floor():
    return current_app.extensions["stint_stipend_floor"]


def _web_url() -> str:
    return current_app.extensions["stint_settings"].extra.get("STINT_WEB_URL", "http://127.0.0.1:8000")


# ---- organisations ---------------------------------------------------------------------


@orgs.route("/me", methods=["PUT"])
@require("employer", org_required=False)
@orgs.arguments(OrgProfileSchema)
@orgs.response(200, OrgSchema)
@errors(orgs, 401, 403, 404, 503)
def put_my_org(profile):
    """Register the caller's organisation (it starts pending; the account gets its `org` from now on: refresh the
    token to see it) or update its profile."""
    return accounts.register_my_org(current_db(), _idp(), current_principal(), profile, traceparent())


@orgs.route("", methods=["GET"])
@require("admin")
@orgs.arguments(OrgQuerySchema, location="query")
@orgs.response(200, OrgPageSchema)
@errors(orgs, 400, 401, 403)
def list_orgs(query):
    """Organisations by status, newest first: the administrator's queue of those waiting for verification."""
    items, next_cursor = accounts.orgs_in_status(current_db(), query["status"], query["limit"], query["cursor"])
    return {"items": items, "next_cursor": next_cursor}


@orgs.route("/me/invitations", methods=["POST"])
@require("employer")
@orgs.arguments(InvitationCreateSchema)
@orgs.response(201, InvitationSchema)
@errors(orgs, 401, 403, 404)
def invite(body):
    """Invite a colleague by email to join the caller's organisation; they are emailed a link to accept."""
    return accounts.invite_colleague(current_db(), current_principal(), body["email"], _web_url(), traceparent())


@orgs.route("/me/invitations", methods=["GET"])
@require("employer")
@orgs.arguments(PageQuerySchema, location="query")
@orgs.response(200, InvitationPageSchema)
@errors(orgs, 400, 401, 403)
def list_invitations(query):
    """The invitations the caller's organisation sent, newest first."""
    items, next_cursor = accounts.org_invitations(current_db(), current_principal(), query["limit"], query["cursor"])
    return {"items": items, "next_cursor": next_cursor}


@orgs.route("/<string(maxlength=200):org_id>")
@orgs.response(200, OrgSchema)
@errors(orgs, 404)
@orgs.doc(security=PUBLIC)
def get_org(org_id):
    """An organisation's public profile."""
    return handlers.get_org(current_db(), org_id)


@orgs.route("/<string(maxlength=200):org_id>/verify", methods=["POST"])
@require("admin")
@orgs.response(200, OrgSchema)
@errors(orgs, 401, 403, 404)
def verify_org(org_id):
    """Mark an organisation verified, so it can publish listings (admin; verifying again is harmless)."""
    return handlers.verify_org(current_db(), org_id, current_principal().sub, traceparent())


# ---- listings --------------------------------------------------------------------------


@categories.route("", methods=["GET"])
@categories.response(200, CategoryListSchema)
@categories.doc(security=PUBLIC)
def list_categories():
    """The work domains a listing belongs to: each `code` (a listing's `category`) with its label."""
    return {"items": handlers.categories()}


@listings.route("", methods=["POST"])
@require("employer")
@listings.arguments(ListingCreateSchema)
@listings.response(201, ListingSchema)
@errors(listings, 401, 403, 409, 422)
def create_listing(fields):
    """Write a draft listing for the caller's organisation."""
    caller = current_principal()
    return handlers.create_listing(current_db(), caller.org, fields, caller.sub, _floor())


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
        check_role(caller, ("employer",))
        items, next_cursor = handlers.list_org_listings(current_db(), caller.org, limit, cursor)
    else:
        items, flags, next_cursor = handlers.search_listings(current_db(), args, limit, cursor)
        return jsonify(listing_page(items, flags, next_cursor))  # ListingPageSchema's answer, made faster
    return {"items": items, "next_cursor": next_cursor}


@listings.route("/<uuid:listing_id>", methods=["GET"])
@listings.response(200, ListingSchema)
@errors(listings, 401, 404)
@listings.doc(security=OPTIONAL_AUTH)
def get_listing(listing_id):
    """One published or closed listing with its seats left; a draft only for its own organisation."""
    caller = optional_principal()
    return handlers.get_listing(current_db(), str(listing_id), caller.org if caller else None)


@listings.route("/<uuid:listing_id>", methods=["PATCH"])
@require("employer")
@listings.arguments(ListingPatchSchema, required=False)  # nothing to change is a harmless no-op
@listings.response(200, ListingSchema)
@errors(listings, 401, 403, 404, 409, 422)
def edit_listing(changes, listing_id):
    """Edit a draft or published listing of the caller's organisation (published ones announce it)."""
    return handlers.edit_listing(
        current_db(), str(listing_id), current_principal().org, changes, traceparent(), _floor()
    )


@listings.route("/<uuid:listing_id>/publish", methods=["POST"])
@require("employer")
@listings.response(200, ListingSchema)
@errors(listings, 401, 403, 404, 409, 422)
def publish_listing(listing_id):
    """Publish a draft; the organisation must be verified and the deadline ahead."""
    return handlers.publish_listing(current_db(), str(listing_id), current_principal().org, traceparent(), _floor())


@listings.route("/<uuid:listing_id>/close", methods=["POST"])
@require("employer")
@listings.response(200, ListingSchema)
@errors(listings, 401, 403, 404, 409)
def close_listing(listing_id):
    """Close a published listing to new applications."""
    return handlers.close_listing(current_db(), str(listing_id), current_principal().org, traceparent())


# ---- accounts --------------------------------------------------------------------------


@people.route("/accounts/me", methods=["GET"])
@require_account
@people.response(200, AccountSchema)
@errors(people, 401, 404, 503)
def get_my_account():
    """The caller's account now: its role and organisation (a new account has neither)."""
    return accounts.my_account(_idp(), current_principal())


@people.route("/accounts/me/role", methods=["PUT"])
@require_account
@people.arguments(RoleChoiceSchema)
@people.response(200, AccountSchema)
@errors(people, 401, 404, 409, 503)
def choose_my_role(body):
    """A new account chooses student or employer, once; refresh the token to carry the role."""
    return accounts.choose_role(_idp(), current_principal(), body["role"])


@people.route("/accounts/<string(maxlength=100):user_id>/role", methods=["PUT"])
@require("admin")
@people.arguments(RoleGrantSchema)
@people.response(200, AccountSchema)
@errors(people, 401, 403, 404, 503)
def grant_role(body, user_id):
    """Grant an account a role (admin): university and admin come only this way; employers and universities name
    their organisation."""
    return accounts.grant_role(_idp(), current_db(), user_id, body["role"], body["org"])


@people.route("/invitations/<uuid:invitation_id>/accept", methods=["POST"])
@require_account
@people.response(200, InvitationSchema)
@errors(people, 401, 404, 409, 503)
def accept_invitation(invitation_id):
    """Join the organisation that invited the caller's (verified) email address, as an employer."""
    return accounts.accept_invitation(current_db(), _idp(), current_principal(), str(invitation_id))
