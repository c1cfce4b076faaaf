"""HTTP views and schemas of endorsements: an employer endorses approved work; anyone reads and checks it."""

from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from flask_smorest import Blueprint
from marshmallow import fields as f
from marshmallow import validate as v

from services.certification import endorsements, store
from services.certification.api import DID_DOCUMENT, JSON_OBJECT, runtime
from services.certification.schemas import VerificationSchema
from shared.auth import check_role, current_principal, require
from shared.errors import ErrorSchema, NotFound
from shared.web import traceparent

endorsements_blp = Blueprint(
    "endorsements", __name__, description="Employers' endorsements of approved work, and organisations' DIDs"
)


class EndorseSchema(ma.Schema):
    """POST /endorsements: the recommendation of one application's approved work."""

    application_id = f.String(required=True, validate=v.Length(min=1, max=200))
    comment = f.String(required=True, validate=v.Length(min=1, max=endorsements.COMMENT_MAX))

    @ma.pre_load
    def _strip(self, data, **_kwargs):
        if isinstance(data, dict) and isinstance(data.get("comment"), str):
            return {**data, "comment": data["comment"].strip()}
        return data


class EndorsementSchema(ma.Schema):
    """An endorsement: who endorsed which credential, what they wrote, and where its signed JSON is."""

    id = f.String(required=True)
    credential_id = f.String(required=True)
    application_id = f.String(required=True)
    org_id = f.String(required=True)
    org_name = f.String(required=True)
    issuer = f.String(required=True, metadata={"description": "the organisation's did:web"})
    comment = f.String(required=True)
    issued_at = f.DateTime(required=True)
    url = f.String(required=True, metadata={"description": "the signed EndorsementCredential"})
    verification = f.Nested(VerificationSchema, metadata={"description": "Stint's checks (in public lists)"})


class EndorsementListSchema(ma.Schema):
    """Endorsements, oldest first."""

    items = f.List(f.Nested(EndorsementSchema), required=True)


class EndorsementQuerySchema(ma.Schema):
    """GET /endorsements: by `application_id` (an employer: their own organisation's), or by `credential_id` (anyone:
    the endorsements of up to 50 credentials, as a student's list of credentials shows them)."""

    application_id = f.String(validate=v.Length(min=1, max=200))
    credential_id = f.List(f.String(), validate=v.Length(max=50))

    @ma.validates_schema
    def _one_filter(self, data, **_kwargs):
        if ("application_id" in data) == ("credential_id" in data):
            raise ma.ValidationError("give either application_id or credential_id", field_name="application_id")
        # Checked here, not as the items' maxLength: the query decoder and the OpenAPI count a URL's odd bytes
        # differently, so a documented item limit let the conformance fuzzer through (an unknown id finds nothing).
        if any(len(value) > 200 for value in data.get("credential_id", [])):
            raise ma.ValidationError("a credential id is at most 200 characters", field_name="credential_id")


@endorsements_blp.route("/endorsements", methods=["POST"])
@endorsements_blp.arguments(EndorseSchema)
@endorsements_blp.response(201, EndorsementSchema)
@endorsements_blp.alt_response(403, schema=ErrorSchema)
@endorsements_blp.alt_response(409, schema=ErrorSchema)
@require("employer")
def endorse(body):
    """Endorse an application's approved work as your organisation: an OB 3.0 EndorsementCredential signed by the
    organisation's did:web (409 before its credential is issued, or for a second endorsement; 403 for another
    organisation's work); the student is told."""
    return endorsements.endorse(runtime(), current_principal(), body["application_id"], body["comment"], traceparent())


@endorsements_blp.route("/endorsements")
@endorsements_blp.arguments(EndorsementQuerySchema, location="query")
@endorsements_blp.response(200, EndorsementListSchema)
@endorsements_blp.alt_response(403, schema=ErrorSchema)
def list_endorsements(query):
    """Your organisation's endorsement of an application (employers; none or one), or anyone: the endorsements of
    the credentials named (without Stint's checks: GET /credentials/{id}/endorsements has them)."""
    if "application_id" in query:
        principal = current_principal()
        check_role(principal, ("employer",), True)
        return {"items": endorsements.endorsements_of_application(runtime(), principal, query["application_id"])}
    uuids = [u for u in map(store.parse_uuid, query["credential_id"]) if u]
    return {"items": endorsements.endorsements_of_credentials(runtime(), uuids)}


@endorsements_blp.route("/endorsements/<endorsement_id>")
@endorsements_blp.doc(
    security=[],
    responses={
        "200": {
            "description": "the signed EndorsementCredential (JSON-LD)",
            "content": {"application/json": {"schema": JSON_OBJECT}},
        }
    },
)
@endorsements_blp.alt_response(404, schema=ErrorSchema)
def get_endorsement(endorsement_id):
    """The signed OB 3.0 EndorsementCredential."""
    return jsonify(endorsements.signed_endorsement(runtime(), endorsement_id))


@endorsements_blp.route("/credentials/<credential_id>/endorsements")
@endorsements_blp.response(200, EndorsementListSchema)
@endorsements_blp.alt_response(404, schema=ErrorSchema)
@endorsements_blp.doc(security=[])
def credential_endorsements(credential_id):
    """The endorsements of a credential, each with Stint's checks (linked from it, never signed into it)."""
    credential_uuid = store.parse_uuid(credential_id)
    if credential_uuid is None or store.credential_by_id(runtime().db, credential_uuid) is None:
        raise NotFound("no such credential", code="credential_not_found")
    return {"items": endorsements.endorsements_of_credential(runtime(), credential_uuid)}


@endorsements_blp.route("/orgs/<string(maxlength=200):org_id>/did.json")
@endorsements_blp.doc(
    security=[],
    responses={"200": {"description": "the DID document", "content": {"application/json": {"schema": DID_DOCUMENT}}}},
)
@endorsements_blp.alt_response(404, schema=ErrorSchema)
def org_did_json(org_id):
    """An organisation's DID document (did:web:<host>:orgs:<org>): its current and retired endorsement keys."""
    return jsonify(endorsements.org_did_document(runtime(), org_id))
