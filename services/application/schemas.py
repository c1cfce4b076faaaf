"""HTTP request and response schemas of the application service (unknown fields are rejected)."""

from __future__ import annotations

import uuid

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from services.application.domain import PAYMENT_STATUSES, STATUSES
from shared.fields import DateOrTimestamp
from shared.pagination import PageQuerySchema, page_schema

ID_LENGTH = v.Length(min=1, max=100)
MAX_TEXT = 5000
MAX_ANSWER = 3000
MAX_ANSWERS = 20
MAX_LINKS = 10
MAX_LINK_LENGTH = 2000
MAX_SKILLS = 30
MAX_HOURS = 1000
MAX_AMOUNT = 10_000_000
MAX_REFERENCE = 100
MAX_REASON = 2000
MAX_CREDENTIALS = 10


class CredentialId(f.String):
    """A credential's id, `urn:uuid:<uuid>` (the bare uuid is taken too), in its canonical lowercase form."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return f"urn:uuid:{uuid.UUID(text.removeprefix('urn:uuid:'))}"
        except ValueError:
            raise ma.ValidationError(
                "must be a credential id like urn:uuid:2f1c9a4e-8d7b-4c3a-9e21-5b6d7f8a9c0d"
            ) from None


# ---- requests ------------------------------------------------------------------------------


class ApplyRequestSchema(ma.Schema):
    """A student's application to a listing."""

    listing_id = f.String(required=True, validate=ID_LENGTH)
    cover_note = f.String(
        required=True,
        validate=v.Length(min=1, max=MAX_TEXT),
        metadata={"description": "why the student fits the project"},
    )
    answers = f.List(
        f.String(validate=v.Length(max=MAX_ANSWER)),
        load_default=list,
        validate=v.Length(max=MAX_ANSWERS),
        metadata={"description": "one non-empty answer per screening question of the listing, in order"},
    )
    credential_ids = f.List(
        CredentialId(),
        load_default=list,
        validate=v.Length(max=MAX_CREDENTIALS),
        metadata={"description": "earlier Stint credentials of the student's own to highlight (urn:uuid:...)"},
    )


class ApplicationQuerySchema(PageQuerySchema):
    """Filters of the application list."""

    listing_id = f.String(validate=ID_LENGTH)
    status = f.String(validate=v.OneOf(STATUSES))


class ActionRequestSchema(ma.Schema):
    """Optional body of shortlist, accept, reject and withdraw."""

    note = f.String(load_default="", validate=v.Length(max=1000), metadata={"description": "why; kept in the history"})


class SubmissionRequestSchema(ma.Schema):
    """A round of work submitted by the accepted student."""

    links = f.List(
        f.Url(schemes={"http", "https"}, validate=v.Length(max=MAX_LINK_LENGTH)),
        required=True,
        validate=v.Length(min=1, max=MAX_LINKS),
        metadata={"description": "evidence of the work (repository, document, demo): http(s) only"},
    )
    notes = f.String(load_default="", validate=v.Length(max=MAX_TEXT))
    hours_spent = f.Float(
        required=True,
        validate=v.Range(min=0, max=MAX_HOURS),
        metadata={"description": "between 0 and twice the listing's effort hours"},
    )


class ReviewRequestSchema(ma.Schema):
    """The employer's review of the latest submitted round."""

    decision = f.String(required=True, validate=v.OneOf(["approve", "request_changes", "reject"]))
    feedback = f.String(
        load_default="", validate=v.Length(max=MAX_TEXT), metadata={"description": "required to request changes"}
    )
    rating = f.Integer(strict=True, validate=v.Range(min=1, max=5), metadata={"description": "required to approve"})
    hours_verified = f.Float(
        validate=v.Range(min=0, min_inclusive=False, max=MAX_HOURS),
        metadata={"description": "required to approve; at most the listing's effort hours"},
    )
    skills_demonstrated = f.List(
        f.String(validate=v.Length(min=1, max=100)), load_default=list, validate=v.Length(max=MAX_SKILLS)
    )


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("must not be blank")


def _payable(amount) -> None:
    """An amount paid: more than 0 and at most the largest stipend a listing may state."""
    if not 0 < amount <= MAX_AMOUNT:
        raise ma.ValidationError(f"must be more than 0 and at most {MAX_AMOUNT}")


class PaidAmount(f.Field):
    """An amount paid: a JSON number or a decimal string (applications show it as a string), two places kept.

    A plain Decimal field would be documented as a number only, though the strings it also takes are what clients
    send back after reading an application.
    """

    def __init__(self, **kwargs):
        number = {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_AMOUNT}
        super().__init__(metadata={"oneOf": [number, {"type": "string", "example": "15000.00"}]}, **kwargs)
        self.decimal = f.Decimal(places=2, validate=_payable)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ma.ValidationError("Not a valid number.")
        return self.decimal.deserialize(value, attr, data)


class PaymentRequestSchema(ma.Schema):
    """The stipend an employer paid for approved work."""

    amount = PaidAmount(required=True)
    currency = f.String(
        load_default=None,
        validate=v.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code: three capital letters"),
        metadata={"description": "ISO 4217; the listing's stipend currency when left out"},
    )
    paid_on = DateOrTimestamp(required=True, metadata={"description": "when it was paid; not in the future"})
    reference = f.String(
        required=True,
        validate=[v.Length(min=1, max=MAX_REFERENCE), _not_blank],
        metadata={"description": "the bank or UPI transaction reference"},
    )


class DisputeRequestSchema(ma.Schema):
    """Why the student disputes a recorded payment."""

    reason = f.String(required=True, validate=[v.Length(min=1, max=MAX_REASON), _not_blank])


# ---- responses -----------------------------------------------------------------------------


class PersonSchema(ma.Schema):
    id = f.String()
    name = f.String()
    email = f.String()


class ReviewerSchema(ma.Schema):
    id = f.String()
    name = f.String()


class AnswerSchema(ma.Schema):
    question = f.String()
    answer = f.String()


class HistoryEntrySchema(ma.Schema):
    status = f.String(metadata={"description": "what the application became"})
    previous_status = f.String(allow_none=True)
    by = f.Dict(metadata={"description": "who: {id, role}"})
    at = f.AwareDateTime()
    note = f.String()


class SubmissionSchema(ma.Schema):
    round = f.Integer()
    links = f.List(f.String())
    notes = f.String()
    hours_spent = f.Float()
    digest = f.String(
        metadata={
            "description": "SHA-256 (hex) of the canonical JSON of {hours_spent, links, notes, round}: "
            "keys sorted, no spaces, UTF-8, whole numbers without a fraction"
        }
    )
    submitted_at = f.AwareDateTime()


class ReviewSchema(ma.Schema):
    round = f.Integer()
    decision = f.String()
    feedback = f.String()
    rating = f.Integer(allow_none=True)
    hours_verified = f.Float(allow_none=True)
    skills_demonstrated = f.List(f.String())
    reviewer = f.Nested(ReviewerSchema)
    reviewed_at = f.AwareDateTime()


class DisputeSchema(ma.Schema):
    reason = f.String()
    raised_at = f.AwareDateTime()


class PaymentSchema(ma.Schema):
    """The stipend's payment as the employer recorded it and the student answered it."""

    status = f.String(validate=v.OneOf(PAYMENT_STATUSES))
    amount = f.String(metadata={"pattern": r"^\d+\.\d{2}$", "example": "15000.00"})
    currency = f.String()
    paid_on = f.AwareDateTime()
    reference = f.String()
    recorded_by = f.Nested(ReviewerSchema)
    recorded_at = f.AwareDateTime()
    corrections = f.Integer(metadata={"description": "how many times the employer corrected the record"})
    confirmed_at = f.AwareDateTime(allow_none=True)
    dispute = f.Nested(DisputeSchema, allow_none=True)


class HighlightedCredentialSchema(ma.Schema):
    """An earlier credential the student highlighted, and whether it still verifies (revoked since: false)."""

    credential_id = f.String()
    listing_title = f.String()
    verification_url = f.String(metadata={"description": "the public page where anyone can verify it"})
    verified = f.Boolean()


class ApplicationSchema(ma.Schema):
    """An application as it now stands, with its history, submissions and latest review."""

    id = f.String(attribute="_id")
    listing_id = f.String()
    listing_title = f.String()
    org_id = f.String()
    student = f.Nested(PersonSchema)
    cover_note = f.String()
    answers = f.List(f.Nested(AnswerSchema))
    highlighted_credentials = f.List(f.Nested(HighlightedCredentialSchema), dump_default=list)
    status = f.String(validate=v.OneOf(STATUSES))
    history = f.List(f.Nested(HistoryEntrySchema))
    submissions = f.List(f.Nested(SubmissionSchema))
    latest_review = f.Nested(ReviewSchema, allow_none=True)
    change_rounds = f.Integer(metadata={"description": "how many times changes were requested"})
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()
    accepted_at = f.AwareDateTime()
    completed_at = f.AwareDateTime()
    payment = f.Nested(PaymentSchema, allow_none=True, dump_default=None)


ApplicationPageSchema = page_schema(ApplicationSchema, "ApplicationPage")
