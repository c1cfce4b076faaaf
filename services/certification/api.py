"""HTTP views of the certification service: parse, call a use case, answer."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask_smorest import Blueprint

from services.certification import (
    credit_requests,
    credits,
    endorsements,
    issuer,
    issuing,
    key_revocation,
    pages,
    revoking,
    schemas,
    store,
    universities,
    verifying,
)
from services.certification.jsonld import DEFAULT_LOADER, STINT_V1
from services.certification.runtime import Runtime
from services.certification.verification_checks import vc_api_result
from shared.auth import current_principal, optional_principal, require
from shared.errors import BadRequest, ErrorSchema, NotFound
from shared.pagination import PageQuerySchema
from shared.web import traceparent

credentials_blp = Blueprint("credentials", __name__, description="Issued credentials, revocation and certificates")
verify_blp = Blueprint("verify", __name__, description="Verifying credentials")
issuer_blp = Blueprint(
    "issuer", __name__, description="The issuer's DID document, keys, status lists, contexts and skill pages"
)
universities_blp = Blueprint(
    "universities", __name__, description="Universities, credit requests, credit policies and credit decisions"
)
BATCH_MAX_BYTES = 8 * 1024 * 1024
JSON_OBJECT = {"type": "object"}
ERROR = {"$ref": "#/components/schemas/Error"}
DID_DOCUMENT = {
    "type": "object",
    "required": ["@context", "id", "verificationMethod", "assertionMethod"],
    "properties": {
        "@context": {"type": "array", "items": {"type": "string"}},
        "id": {"type": "string"},
        "verificationMethod": {"type": "array", "items": {"type": "object"}},
        "assertionMethod": {"type": "array", "items": {"type": "string"}},
    },
}


def runtime() -> Runtime:
    """The service's use-case runtime (settings, database, keys)."""
    return current_app.extensions["certification_runtime"]


def json_object_body() -> dict:
    """The request body as a JSON object, or a 400 in the error shape."""
    try:
        body = request.get_json(force=True, silent=True)
    except RecursionError:  # absurdly deep nesting is not a credential either
        body = None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (a credential)", code="invalid_json")
    return body


def wants_json() -> bool:
    """True when the client asked for JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes["application/json"] > 0


# ---- credentials --------------------------------------------------------------------------


@credentials_blp.route("/credentials")
@credentials_blp.arguments(schemas.CredentialListQuerySchema, location="query")
@credentials_blp.response(200, schemas.CredentialPageSchema)
@credentials_blp.alt_response(403, schema=ErrorSchema)
@require("student", "admin")
def list_credentials(query):
    """A student's own credentials (admins see all), newest first."""
    principal = current_principal()
    student_id = principal.sub if principal.role == "student" else None
    items, cursor = store.credentials_page(runtime().db, student_id, query["limit"], query["cursor"])
    return {"items": items, "next_cursor": cursor}


@credentials_blp.route("/credentials/<credential_id>")
@credentials_blp.doc(
    security=[],
    responses={
        "200": {
            "description": "the signed credential (JSON-LD)",
            "content": {"application/json": {"schema": JSON_OBJECT}},
        }
    },
)
@credentials_blp.alt_response(404, schema=ErrorSchema)
def get_credential(credential_id):
    """The signed OpenBadgeCredential."""
    return jsonify(issuing.credential_document(runtime(), credential_id))


@credentials_blp.route("/credentials/<credential_id>/pdf")
@credentials_blp.doc(
    security=[],
    responses={"200": {"description": "a printable PDF certificate", "content": {"application/pdf": {}}}},
)
@credentials_blp.alt_response(404, schema=ErrorSchema)
def credential_pdf(credential_id):
    """A printable certificate with a QR code to the verification page."""
    record, document, result = verifying.verification_of(runtime(), credential_id)
    context = pages.summary(record, result, document, runtime().public_url)
    filename = f"stint-credential-{record['_id']}.pdf"
    return Response(
        pages.certificate_pdf(context),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@credentials_blp.route("/credentials/<credential_id>/revoke", methods=["POST"])
@credentials_blp.arguments(schemas.RevokeSchema)
@credentials_blp.response(200, schemas.CredentialSummarySchema)
@credentials_blp.alt_response(404, schema=ErrorSchema)
@credentials_blp.alt_response(409, schema=ErrorSchema)
@require("admin")
def revoke(body, credential_id):
    """Revoke a credential with a reason; its status list bit is set."""
    return revoking.revoke_credential(runtime(), credential_id, body["reason"], current_principal().sub)


@credentials_blp.route("/credentials/<credential_id>/credit-decisions", methods=["POST"])
@credentials_blp.arguments(schemas.CreditDecisionRequestSchema)
@credentials_blp.response(201, schemas.CreditDecisionSchema)
@credentials_blp.alt_response(403, schema=ErrorSchema)
@credentials_blp.alt_response(404, schema=ErrorSchema)
@credentials_blp.alt_response(409, schema=ErrorSchema)
@require("university")
def decide_credit(body, credential_id):
    """Decide a student's request for credit (verified universities only; 403 when nobody asked your university about
    this credential, 409 for a second decision or a revoked credential); the request closes, the student is told."""
    return credits.decide_credit(runtime(), current_principal(), credential_id, body)


# ---- verification -------------------------------------------------------------------------


@verify_blp.route("/verify", methods=["POST"])
@verify_blp.doc(
    security=[],
    requestBody={"content": {"application/json": {"schema": {"type": "object"}}}, "description": "a credential"},
)
@verify_blp.response(200, schemas.VerificationSchema)
@verify_blp.alt_response(400, schema=ErrorSchema)
def verify():
    """Verify a presented credential; each check is reported separately."""
    return verifying.verify_presented(runtime(), json_object_body())


@verify_blp.route("/credentials/verify", methods=["POST"])
@verify_blp.arguments(schemas.VcApiVerifyRequestSchema)
@verify_blp.response(200, schemas.VcApiVerificationSchema)
@verify_blp.doc(security=[])
def verify_vc_api(body):
    """Verify a credential in the W3C VC API's shape ({"verifiableCredential", "options"})."""
    return vc_api_result(verifying.verify_presented(runtime(), body["verifiableCredential"]))


@verify_blp.route("/verify/batch", methods=["POST"])
@verify_blp.arguments(schemas.BatchRequestSchema)
@verify_blp.response(200, schemas.BatchResultSchema)
@require("university")
def verify_batch(body):
    """Verify up to 500 credentials (by id or inline), answered in order."""
    return {"results": verifying.verify_batch(runtime(), body["items"])}


@verify_blp.route("/verify/<credential_id>")
@verify_blp.doc(
    security=[],
    responses={
        "200": {
            "description": "HTML page, or JSON with Accept: application/json",
            "content": {"text/html": {}, "application/json": {"schema": JSON_OBJECT}},
        },
        "404": {
            "description": "no such credential: a page, or the error shape with Accept: application/json",
            "content": {"text/html": {}, "application/json": {"schema": ERROR}},
        },
    },
)
def verification_page(credential_id):
    """The public verification page of a credential (JSON when asked for)."""
    try:
        record, document, result = verifying.verification_of(runtime(), credential_id)
    except NotFound:
        if wants_json():
            raise
        return Response(pages.unknown_page(credential_id), status=404, mimetype="text/html")
    context = pages.summary(record, result, document, runtime().public_url)
    context["endorsements"] = endorsements.page_entries(runtime(), record["_id"])
    if wants_json():
        return jsonify({key: value for key, value in context.items() if key != "checks"} | {"checks": result["checks"]})
    return Response(pages.verification_page(context), mimetype="text/html")


# ---- issuer -------------------------------------------------------------------------------


@issuer_blp.route("/.well-known/did.json")
@issuer_blp.doc(
    security=[],
    responses={"200": {"description": "the DID document", "content": {"application/json": {"schema": DID_DOCUMENT}}}},
)
def did_json():
    """The issuer's DID document (did:web) with every current and retired key."""
    return jsonify(issuer.did_document(runtime()))


@issuer_blp.route("/keys/rotate", methods=["POST"])
@issuer_blp.response(201, schemas.SigningKeySchema)
@require("admin")
def rotate_key():
    """Make a new current signing key; older credentials keep verifying."""
    return issuer.rotate_signing_key(runtime())


@issuer_blp.route("/keys/<key_id>/revoke", methods=["POST"])
@issuer_blp.arguments(schemas.KeyRevokeSchema, required=False)
@issuer_blp.response(200, schemas.SigningKeySchema)
@issuer_blp.alt_response(404, schema=ErrorSchema)
@issuer_blp.alt_response(409, schema=ErrorSchema)
@require("admin")
def revoke_key(body, key_id):
    """Distrust a compromised key: it leaves the DID document, what it signed fails the issuer_key check, and the
    worker re-issues those credentials under the current key (rotate first: the current key is 409)."""
    reason = (body or {}).get("reason", "")
    return key_revocation.revoke_key(runtime(), key_id, reason, current_principal().sub)


@issuer_blp.route("/status-lists/<list_id>")
@issuer_blp.doc(
    security=[],
    responses={
        "200": {
            "description": "the signed BitstringStatusListCredential",
            "content": {"application/json": {"schema": JSON_OBJECT}},
        }
    },
)
@issuer_blp.alt_response(404, schema=ErrorSchema)
def status_list(list_id):
    """The signed BitstringStatusListCredential."""
    return jsonify(issuer.signed_status_list(runtime(), list_id))


@issuer_blp.route("/contexts/stint-v1.json")
@issuer_blp.doc(
    security=[],
    responses={
        "200": {"description": "a JSON-LD context", "content": {"application/ld+json": {"schema": JSON_OBJECT}}}
    },
)
def stint_context():
    """Stint's JSON-LD extension context (identified by a stable URL, see the service docs)."""
    response = jsonify(DEFAULT_LOADER.raw(STINT_V1))
    response.mimetype = "application/ld+json"
    return response


@issuer_blp.route("/skills/<slug>")
@issuer_blp.doc(
    security=[],
    responses={
        "200": {
            "description": "the skill: an HTML page, or JSON with Accept: application/json",
            "content": {"text/html": {}, "application/json": {"schema": schemas.SkillSchema}},
        },
        "404": {
            "description": "no credential aligns to this skill: the error shape",
            "content": {"application/json": {"schema": ERROR}},
        },
    },
)
def skill(slug):
    """The public page of a skill that credentials align to (the targetUrl of their alignments)."""
    described = issuer.skill_description(runtime(), slug)
    if wants_json():
        return jsonify(schemas.SkillSchema().dump(described))
    return Response(pages.skill_page(described), mimetype="text/html")


# ---- universities -------------------------------------------------------------------------


@universities_blp.route("/universities/me", methods=["PUT"])
@universities_blp.arguments(schemas.UniversityProfileSchema)
@universities_blp.response(200, schemas.UniversitySchema)
@universities_blp.alt_response(409, schema=ErrorSchema)
@require("university")
def put_university(profile):
    """Register the caller's university (the token's org; it starts pending) or update its profile."""
    return universities.register_university(runtime().db, current_principal(), profile, traceparent())


@universities_blp.route("/universities")
@universities_blp.arguments(schemas.UniversityQuerySchema, location="query")
@universities_blp.response(200, schemas.UniversityPageSchema)
@universities_blp.alt_response(403, schema=ErrorSchema)
@universities_blp.doc(security=[])
def list_universities(query):
    """Verified universities, for anyone (a student picks one); `status=pending` is the admin's queue."""
    items, cursor = universities.list_universities(
        runtime().db, optional_principal(), query["status"], query["limit"], query["cursor"]
    )
    return {"items": items, "next_cursor": cursor}


@universities_blp.route("/universities/<university_id>")
@universities_blp.response(200, schemas.UniversitySchema)
@universities_blp.alt_response(404, schema=ErrorSchema)
@universities_blp.doc(security=[])
def get_university(university_id):
    """A verified university's public profile (a pending one only to admins and its registrars)."""
    return universities.get_university(runtime().db, university_id, optional_principal())


@universities_blp.route("/universities/<university_id>/verify", methods=["POST"])
@universities_blp.response(200, schemas.UniversitySchema)
@universities_blp.alt_response(404, schema=ErrorSchema)
@require("admin")
def verify_university(university_id):
    """Mark a university verified, so it can decide credit (verifying again is harmless)."""
    return universities.verify_university(runtime().db, university_id, current_principal().sub, traceparent())


@universities_blp.route("/credit-requests", methods=["POST"])
@universities_blp.arguments(schemas.CreditRequestCreateSchema)
@universities_blp.response(201, schemas.CreditRequestSchema)
@universities_blp.alt_response(403, schema=ErrorSchema)
@universities_blp.alt_response(404, schema=ErrorSchema)
@universities_blp.alt_response(409, schema=ErrorSchema)
@require("student")
def request_credit(body):
    """Ask a verified university for credit for one of your credentials (one request per university)."""
    return credit_requests.request_credit(runtime(), current_principal(), body, traceparent())


@universities_blp.route("/credit-requests")
@universities_blp.arguments(schemas.CreditRequestQuerySchema, location="query")
@universities_blp.response(200, schemas.CreditRequestPageSchema)
@universities_blp.alt_response(403, schema=ErrorSchema)
@require("student", "university")
def list_credit_requests(query):
    """A student's own requests; a university's queue of requests addressed to it, each with its credential."""
    items, cursor = credit_requests.list_requests(
        runtime(), current_principal(), query.get("status"), query["limit"], query["cursor"]
    )
    return {"items": items, "next_cursor": cursor}


@universities_blp.route("/universities/me/policy", methods=["PUT"])
@universities_blp.arguments(schemas.PolicySchema, required=False)  # no body: the defaults (30 h per credit, no minimum)
@universities_blp.response(200, schemas.PolicyViewSchema)
@require("university")
def put_policy(body):
    """Set the university's hours per credit and minimum hours."""
    return credits.set_policy(runtime().db, current_principal(), body["hours_per_credit"], body["min_hours"])


@universities_blp.route("/universities/me/policy")
@universities_blp.response(200, schemas.PolicyViewSchema)
@require("university")
def get_policy():
    """The university's credit policy (the default when none was set)."""
    return credits.policy_view(runtime().db, current_principal().org)


@universities_blp.route("/credit-decisions")
@universities_blp.arguments(PageQuerySchema, location="query")
@universities_blp.response(200, schemas.CreditDecisionPageSchema)
@require("university")
def list_decisions(query):
    """The university's own credit decisions, newest first."""
    items, cursor = credits.list_decisions(runtime().db, current_principal().org, query["limit"], query["cursor"])
    return {"items": items, "next_cursor": cursor}


@universities_blp.route("/credit-decisions/export")
@universities_blp.doc(responses={"200": {"description": "CSV of accepted credits", "content": {"text/csv": {}}}})
@require("university")
def export_decisions():
    """Accepted credits as CSV."""
    return Response(
        credits.export_accepted_csv(runtime().db, current_principal().org),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="accepted-credits.csv"'},
    )


def allow_large_batches() -> None:
    """A batch of 500 inline credentials is larger than the platform's 1 MiB default."""
    if request.endpoint == "verify.verify_batch":
        request.max_content_length = BATCH_MAX_BYTES
