"""HTTP request and response schemas of the certification service."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from services.certification.domain import AISHE_CODE, APAAR_ID
from services.certification.linkedin import add_to_profile_url
from shared.fields import JsonBoolean
from shared.pagination import PageQuerySchema, page_schema

MAX_BATCH = 500


class CheckSchema(ma.Schema):
    """One verification check."""

    name = f.String(required=True)
    passed = f.Boolean(required=True)
    message = f.String(required=True)


class VerificationSchema(ma.Schema):
    """The answer of POST /verify: verified when every check passed."""

    verified = f.Boolean(required=True)
    checks = f.List(f.Nested(CheckSchema), required=True)


class VcApiVerifyRequestSchema(ma.Schema):
    """POST /credentials/verify: a credential in the W3C VC API's request shape."""

    verifiableCredential = f.Dict(required=True)  # noqa: N815 - the VC API's name
    # Stint runs every check whatever is asked (challenge, domain and checks are for presentations and
    # partial checking, which Stint does not offer), so options are accepted and ignored.
    options = f.Dict(load_default=dict)


class VcApiProblemSchema(ma.Schema):
    """A failed check, as a VC API problem: its name, a title and what went wrong."""

    type = f.String(required=True)
    title = f.String(required=True)
    detail = f.String(required=True)


class VcApiVerificationSchema(ma.Schema):
    """The answer of POST /credentials/verify: the checks that passed, and one error per check that failed."""

    checks = f.List(f.String(), required=True)
    warnings = f.List(f.Nested(VcApiProblemSchema), required=True)
    errors = f.List(f.Nested(VcApiProblemSchema), required=True)


class SkillSchema(ma.Schema):
    """A skill that Stint credentials align to (the target of an OB 3.0 Alignment)."""

    id = f.String(required=True)
    type = f.String(required=True)
    name = f.String(required=True)
    code = f.String(required=True)
    framework = f.String(required=True)
    description = f.String(required=True)


class BatchItemSchema(ma.Schema):
    """A credential to verify: by the id Stint issued it under, or the credential itself."""

    id = f.String(validate=v.Length(min=1, max=200))
    credential = f.Dict()

    @ma.validates_schema
    def exactly_one(self, data, **_kwargs):
        """An item names an id or carries a credential, not both."""
        if ("id" in data) == ("credential" in data):
            raise ma.ValidationError("give exactly one of id or credential", "_schema")


class BatchRequestSchema(ma.Schema):
    """POST /verify/batch."""

    items = f.List(f.Nested(BatchItemSchema), required=True, validate=v.Length(min=1, max=MAX_BATCH))


class BatchResultSchema(ma.Schema):
    """One result per item, in order."""

    results = f.List(f.Nested(VerificationSchema), required=True)


class RevokeSchema(ma.Schema):
    """POST /credentials/{id}/revoke."""

    reason = f.String(required=True, validate=v.Length(min=3, max=500))


class CredentialSummarySchema(ma.Schema):
    """A credential as listed to its student (the signed JSON is at GET /credentials/{id})."""

    id = f.String(attribute="credential_id", required=True)
    application_id = f.String(required=True)
    listing_title = f.String()
    org_name = f.String()
    hours = f.Float()
    credits_recommended = f.Float()
    issued_at = f.AwareDateTime()
    revoked = f.Boolean()
    revoked_at = f.AwareDateTime(allow_none=True)
    revocation_reason = f.String(allow_none=True)
    verification_url = f.String()
    key_id = f.String()
    reissue_of = f.Function(lambda d: f"urn:uuid:{d['reissue_of']}" if d.get("reissue_of") else None)
    superseded_by = f.Function(lambda d: f"urn:uuid:{d['superseded_by']}" if d.get("superseded_by") else None)
    linkedin_url = f.Function(
        add_to_profile_url, metadata={"description": "LinkedIn's add-to-profile form, filled in with this credential"}
    )


CredentialPageSchema = page_schema(CredentialSummarySchema, "CredentialPage")


class CredentialListQuerySchema(PageQuerySchema):
    """GET /credentials: `mine=1` lists the caller's own credentials."""

    mine = f.Boolean(load_default=True)


class SigningKeySchema(ma.Schema):
    """A published signing key."""

    id = f.String(attribute="_id", required=True)
    type = f.String(required=True)
    publicKeyMultibase = f.String(attribute="public_key_multibase", required=True)  # noqa: N815 - Multikey name
    status = f.String(required=True)
    created_at = f.AwareDateTime()
    retired_at = f.AwareDateTime(allow_none=True)
    revoked_at = f.AwareDateTime(allow_none=True)
    revocation_reason = f.String(allow_none=True)


class KeyRevokeSchema(ma.Schema):
    """POST /keys/{key_id}/revoke: why the key is distrusted (it is treated as compromised whatever the reason)."""

    reason = f.String(load_default="", validate=v.Length(max=500))


class PolicySchema(ma.Schema):
    """PUT /universities/me/policy."""

    hours_per_credit = f.Float(load_default=30.0, validate=v.Range(min=1, max=1000))
    min_hours = f.Float(load_default=0.0, validate=v.Range(min=0, max=10000))


class PolicyViewSchema(PolicySchema):
    """A university's credit policy."""

    university_org = f.String(required=True)
    updated_at = f.AwareDateTime(allow_none=True)


class CreditDecisionRequestSchema(ma.Schema):
    """POST /credentials/{id}/credit-decisions."""

    decision = f.String(required=True, validate=v.OneOf(["accepted", "rejected"]))
    credits_awarded = f.Float(load_default=0.0, validate=v.Range(min=0, max=1000))
    course_code = f.String(load_default="", validate=v.Length(max=40))
    term = f.String(load_default="", validate=v.Length(max=40))
    note = f.String(load_default="", validate=v.Length(max=1000))


class CreditDecisionSchema(ma.Schema):
    """A university's credit decision."""

    id = f.String(attribute="_id", required=True)
    credential_id = f.Function(lambda d: f"urn:uuid:{d['credential_id']}")
    university_org = f.String()
    decision = f.String()
    credits_awarded = f.Float()
    course_code = f.String()
    term = f.String()
    note = f.String()
    student_name = f.String()
    listing_title = f.String()
    employer = f.String()
    hours = f.Float()
    hours_per_credit = f.Float()
    apaar_id = f.String()
    decided_by = f.String()
    decided_at = f.AwareDateTime()


CreditDecisionPageSchema = page_schema(CreditDecisionSchema, "CreditDecisionPage")


class UniversityProfileSchema(ma.Schema):
    """PUT /universities/me: the university's profile, as its registrar writes it."""

    name = f.String(required=True, validate=v.Length(min=2, max=200))
    aishe_code = f.String(
        required=True,
        validate=v.Regexp(AISHE_CODE, error="an AISHE code looks like U-0001, C-12345 or S-1234"),
        metadata={"description": "the institution's AISHE code: U- (university), C- (college) or S- (standalone)"},
    )
    website = f.Url(required=True, schemes={"http", "https"}, validate=v.Length(max=300))


class UniversitySchema(ma.Schema):
    """A university as the API shows it."""

    id = f.String(attribute="_id", required=True)
    name = f.String(required=True)
    aishe_code = f.String(required=True)
    website = f.String()
    status = f.String(required=True, metadata={"enum": ["pending", "verified"]})
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()
    verified_at = f.AwareDateTime(allow_none=True)


UniversityPageSchema = page_schema(UniversitySchema, "UniversityPage")


class UniversityQuerySchema(PageQuerySchema):
    """GET /universities: verified ones for anyone; `status=pending` is the admin's queue."""

    status = f.String(load_default="verified", validate=v.OneOf(["pending", "verified"]))


class CreditRequestCreateSchema(ma.Schema):
    """POST /credit-requests."""

    credential_id = f.String(required=True, validate=v.Length(min=1, max=200))
    university_id = f.String(required=True, validate=v.Length(min=1, max=200))
    apaar_id = f.String(
        validate=v.Regexp(APAAR_ID, error="an APAAR id is 12 digits"),
        metadata={"description": "the student's APAAR (Academic Bank of Credits) id, for the university's export"},
    )
    note = f.String(load_default="", validate=v.Length(max=1000))


class RequestedCredentialSchema(ma.Schema):
    """The credential a request is about, as the registrar needs it to decide."""

    id = f.String(required=True)
    listing_title = f.String()
    employer = f.String()
    hours = f.Float()
    credits_recommended = f.Float()
    activity_start = f.String()
    activity_end = f.String()
    issued_at = f.AwareDateTime()
    verification_url = f.String()
    revoked = f.Boolean()
    superseded_by = f.String()


class RequestingStudentSchema(ma.Schema):
    """The student who asked."""

    id = f.String(required=True)
    name = f.String()
    email = f.String()


class CreditRequestSchema(ma.Schema):
    """A student's request for credit, addressed to one university."""

    id = f.String(attribute="_id", required=True)
    credential_id = f.Function(lambda d: f"urn:uuid:{d['credential_id']}")
    university_id = f.String(required=True)
    university_name = f.String()
    student = f.Nested(RequestingStudentSchema)
    apaar_id = f.String()
    note = f.String()
    status = f.String(required=True, metadata={"enum": ["open", "accepted", "rejected"]})
    created_at = f.AwareDateTime()
    decided_at = f.AwareDateTime(allow_none=True)
    credential = f.Nested(RequestedCredentialSchema)


CreditRequestPageSchema = page_schema(CreditRequestSchema, "CreditRequestPage")


class CreditRequestQuerySchema(PageQuerySchema):
    """GET /credit-requests: optionally only those in one status."""

    status = f.String(validate=v.OneOf(["open", "accepted", "rejected"]))


# ---- portfolios ---------------------------------------------------------------------------

MAX_SHOWN = 20
NOT_BLANK = v.Regexp(r"\S", error="must not be blank")


class WorkSampleSchema(ma.Schema):
    """A piece of the student's own work, linked: a title, an http(s) address and a line about it."""

    title = f.String(required=True, validate=[v.Length(min=1, max=120), NOT_BLANK])
    url = f.Url(schemes={"http", "https"}, required=True, validate=v.Length(max=2000))
    description = f.String(load_default="", validate=v.Length(max=500))


class PortfolioRequestSchema(ma.Schema):
    """PUT /portfolios/me: the whole portfolio; nothing is public until `published` is true."""

    handle = f.String(
        required=True,
        validate=v.Length(min=1, max=100),
        metadata={"description": "3 to 30 letters, digits or single hyphens; unique whatever the letter case"},
    )
    headline = f.String(load_default="", validate=v.Length(max=160))
    published = JsonBoolean(
        load_default=False, metadata={"description": "opt in: the public page exists only when true"}
    )
    credential_ids = f.List(
        f.String(validate=v.Length(min=1, max=200)),
        load_default=list,
        validate=v.Length(max=MAX_SHOWN),
        metadata={"description": "your own credentials to show, not revoked (urn:uuid:...)"},
    )
    work_samples = f.List(f.Nested(WorkSampleSchema), load_default=list, validate=v.Length(max=MAX_SHOWN))


class PortfolioSchema(ma.Schema):
    """The student's own portfolio, as saved."""

    handle = f.String(required=True)
    headline = f.String(required=True)
    published = f.Boolean(required=True)
    credential_ids = f.List(f.String(), required=True)
    work_samples = f.List(f.Nested(WorkSampleSchema), required=True)
    url = f.String(required=True, metadata={"description": "the public page (404 until published)"})
    updated_at = f.AwareDateTime()


class ShownCredentialSchema(ma.Schema):
    """A credential on a public portfolio, with its verification page and LinkedIn's add-to-profile link."""

    id = f.String(required=True)
    title = f.String(required=True)
    org_name = f.String(required=True)
    issued_at = f.AwareDateTime()
    hours = f.Float()
    credits_recommended = f.Float()
    verification_url = f.String(required=True)
    linkedin_url = f.String(required=True)


class PublicPortfolioSchema(ma.Schema):
    """What anyone sees of a published portfolio (never an email or its hash)."""

    handle = f.String(required=True)
    name = f.String(required=True)
    headline = f.String(required=True)
    url = f.String(required=True)
    credentials = f.List(f.Nested(ShownCredentialSchema), required=True)
    work_samples = f.List(f.Nested(WorkSampleSchema), required=True)
    updated_at = f.AwareDateTime()
