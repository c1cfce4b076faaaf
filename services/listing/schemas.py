"""HTTP request and response schemas of the listing service (unknown fields are rejected)."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from marshmallow import fields, validate

from services.listing import domain
from shared.auth import ROLES
from shared.fields import DateOrTimestamp
from shared.pagination import PageQuerySchema, page_schema

MAX_STIPEND = 10_000_000
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code: three capital letters")
REGISTRATION_ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$", error="letters, digits, spaces, '.', '/' and '-' only"
)


def not_blank(value: str) -> None:
    """Text made only of whitespace says nothing."""
    if not value.strip():
        raise ma.ValidationError("must not be blank")


def text(max_length: int, min_length: int = 1, **kwargs) -> fields.String:
    """A bounded, non-blank string."""
    return fields.String(validate=[validate.Length(min=min_length, max=max_length), not_blank], **kwargs)


def encodable(value) -> bool:
    """True when every string inside `value` is valid Unicode (JSON lets lone surrogates through)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(encodable(item) for item in value)
    if isinstance(value, dict):
        return all(encodable(key) and encodable(item) for key, item in value.items())
    return True


class InputSchema(ma.Schema):
    """A request body: text the database and the broker cannot store is refused here, not at write time."""

    @ma.pre_load
    def _refuse_unencodable_text(self, data, **_):
        if isinstance(data, dict):
            bad = [key for key, value in data.items() if not (encodable(key) and encodable(value))]
            if bad:
                readable = (key.encode("utf-8", "replace").decode() for key in bad)
                raise ma.ValidationError({key: ["not valid Unicode text"] for key in readable})
        return data


class Category(fields.String):
    """A work domain's code (case and surrounding spaces do not matter); anything else names the choices."""

    def __init__(self, **kwargs):
        choices = ", ".join(domain.CATEGORIES)
        described = {"enum": list(domain.CATEGORIES), "description": f"the work domain: one of {choices}"}
        super().__init__(metadata=described, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if code not in domain.CATEGORIES:
            raise ma.ValidationError(f"must be one of {', '.join(domain.CATEGORIES)} (GET /categories)")
        return code


class JsonFloat(fields.Float):
    """A float that must arrive as a JSON number (marshmallow would also take "12")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


# ---- organisations ---------------------------------------------------------------------


class OrgProfileSchema(InputSchema):
    """An organisation's profile, as its employer writes it."""

    name = text(200, min_length=2, required=True)
    website = fields.Url(schemes={"http", "https"}, required=True, validate=validate.Length(max=300))
    registration_id = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), REGISTRATION_ID],
        metadata={"description": "the company registration number, e.g. a CIN"},
    )


class OrgSchema(ma.Schema):
    """An organisation as the API shows it."""

    id = fields.String(attribute="_id", dump_only=True)
    name = fields.String()
    website = fields.String()
    registration_id = fields.String()
    status = fields.String(metadata={"enum": [domain.PENDING, domain.VERIFIED]})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    verified_at = fields.AwareDateTime(allow_none=True)


class OrgQuerySchema(PageQuerySchema):
    """An administrator's queue of organisations."""

    status = fields.String(load_default=domain.PENDING, validate=validate.OneOf([domain.PENDING, domain.VERIFIED]))


OrgPageSchema = page_schema(OrgSchema, "OrgPage")


# ---- accounts and invitations ----------------------------------------------------------


class AccountSchema(ma.Schema):
    """A person's account: who they are and what they act as."""

    id = fields.String()
    email = fields.String()
    name = fields.String()
    role = fields.String(allow_none=True, metadata={"enum": list(ROLES)})
    org = fields.String(
        allow_none=True, metadata={"description": "the organisation an employer or university acts for"}
    )


class RoleChoiceSchema(InputSchema):
    """The role a new account chooses for itself."""

    role = fields.String(
        required=True,
        validate=validate.OneOf(ROLES),
        metadata={"description": "student or employer (an administrator grants university and admin)"},
    )


class RoleGrantSchema(InputSchema):
    """A role an administrator grants."""

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    org = fields.String(
        load_default=None,
        validate=[validate.Length(min=1, max=100), validate.Regexp(r"^[a-z0-9][a-z0-9-]*$")],
        metadata={"description": "the organisation (employer) or university id the account acts for"},
    )


class InvitationCreateSchema(InputSchema):
    """Whom to invite."""

    email = fields.Email(required=True, validate=validate.Length(max=320))


class PersonSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()


class InvitationSchema(ma.Schema):
    """An invitation to join an organisation."""

    id = fields.String(attribute="_id", dump_only=True)
    org_id = fields.String()
    org_name = fields.String()
    email = fields.String()
    status = fields.String(metadata={"enum": [domain.INVITATION_PENDING, domain.INVITATION_ACCEPTED]})
    invited_by = fields.Nested(PersonSchema)
    created_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)


InvitationPageSchema = page_schema(InvitationSchema, "InvitationPage")


# ---- listings --------------------------------------------------------------------------


# apispec writes a Decimal field's range through the field itself, i.e. as strings ("10000000.00"), which is not
# valid OpenAPI; the bounds are restated as numbers in the metadata, which apispec applies last.
AMOUNT_BOUNDS = {"minimum": 0, "maximum": MAX_STIPEND}


class Amount(fields.Field):
    """A stipend amount in: a JSON number or a decimal string (listings return it as a string), two places kept.

    A plain Decimal field would be documented as a number only, though the strings it also takes are what clients
    send back after reading a listing.
    """

    def __init__(self, **kwargs):
        described = {"oneOf": [{"type": "number", **AMOUNT_BOUNDS}, {"type": "string", "example": "12000.00"}]}
        super().__init__(metadata=described, **kwargs)
        self.decimal = fields.Decimal(places=2, as_string=True, validate=validate.Range(min=0, max=MAX_STIPEND))

    def _deserialize(self, value, attr, data, **kwargs):
        return self.decimal.deserialize(value, attr, data)

    def _serialize(self, value, attr, obj, **kwargs):
        return self.decimal._serialize(value, attr, obj)


class StipendSchema(InputSchema):
    """What a student is paid for the whole stint."""

    amount = Amount(required=True)
    currency = fields.String(load_default="INR", dump_default="INR", validate=CURRENCY)


class StipendViewSchema(ma.Schema):
    """The stipend as the API shows it: the amount is a decimal string with two places."""

    amount = fields.Decimal(
        places=2, as_string=True, metadata={"type": "string", "pattern": r"^\d+\.\d{2}$", "example": "12000.00"}
    )
    currency = fields.String()


def _listing_fields(partial: bool) -> dict[str, fields.Field]:
    """The authored fields of a listing; all required when creating, all optional when editing."""
    required = not partial

    def optional_default(value):
        return {} if partial else {"load_default": value}

    return {
        "title": text(120, min_length=3, required=required),
        "summary": text(500, required=required),
        "brief": text(10_000, required=required, metadata={"description": "the written brief"}),
        "deliverables": fields.List(text(500), required=required, validate=validate.Length(min=1, max=20)),
        "skills": fields.List(text(50), required=required, validate=validate.Length(min=1, max=20)),
        "category": Category(required=required),
        "duration_days": fields.Integer(
            strict=True, required=required, validate=validate.Range(min=1, max=domain.MAX_DURATION_DAYS)
        ),
        "effort_hours": JsonFloat(
            required=required,
            validate=validate.Range(min=0, min_inclusive=False, max=domain.MAX_EFFORT_HOURS),
        ),
        "stipend": fields.Nested(StipendSchema, required=required),
        "seats": fields.Integer(strict=True, required=required, validate=validate.Range(min=1, max=domain.MAX_SEATS)),
        "apply_by": DateOrTimestamp(
            required=required,
            metadata={
                "description": "applications close then: a date (the end of that day, "
                "India Standard Time) or a timestamp with its timezone"
            },
        ),
        "screening_questions": fields.List(text(500), validate=validate.Length(max=5), **optional_default(list)),
    }


ListingCreateSchema = InputSchema.from_dict(_listing_fields(partial=False), name="ListingCreate")
ListingPatchSchema = InputSchema.from_dict(_listing_fields(partial=True), name="ListingPatch")


class OrgFlagSchema(ma.Schema):
    """A warning about the organisation, shown on each of its listings."""

    open_payment_dispute_since = fields.AwareDateTime(
        metadata={"description": "when its oldest payment dispute still open (for 14 days or more) was raised"}
    )


class ListingSchema(ma.Schema):
    """A listing as the API shows it."""

    id = fields.String(attribute="_id", dump_only=True)
    org_id = fields.String()
    org_name = fields.String()
    title = fields.String()
    summary = fields.String()
    brief = fields.String()
    deliverables = fields.List(fields.String())
    skills = fields.List(fields.String())
    category = fields.String()
    duration_days = fields.Integer()
    effort_hours = fields.Float()
    stipend = fields.Nested(StipendViewSchema)
    unpaid = fields.Function(domain.is_unpaid, metadata={"type": "boolean", "description": "pays no stipend"})
    seats = fields.Integer()
    seats_filled = fields.Integer()
    seats_left = fields.Function(domain.seats_left, metadata={"type": "integer"})
    apply_by = fields.AwareDateTime()
    screening_questions = fields.List(fields.String())
    status = fields.String(metadata={"enum": [domain.DRAFT, domain.PUBLISHED, domain.CLOSED]})
    open_for_applications = fields.Function(
        lambda listing: domain.is_open_for_applications(listing, datetime.now(UTC)), metadata={"type": "boolean"}
    )
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_reason = fields.String(
        allow_none=True,
        metadata={"enum": [domain.CLOSED_BY_OWNER, domain.CLOSED_AT_DEADLINE, domain.CLOSED_SEATS_FILLED, None]},
    )
    org_flag = fields.Nested(
        OrgFlagSchema,
        allow_none=True,
        dump_default=None,
        metadata={"description": "set when the organisation has a payment dispute open for too long"},
    )


class ListingSearchQuerySchema(PageQuerySchema):
    """Search filters; with `mine=1` an employer sees their organisation's own listings instead."""

    q = fields.String(validate=validate.Length(max=200), metadata={"description": "every word must match"})
    skill = fields.String(validate=validate.Length(max=50))
    category = Category()
    min_stipend = fields.Decimal(validate=validate.Range(min=0, max=MAX_STIPEND), metadata=AMOUNT_BOUNDS)
    currency = fields.String(validate=CURRENCY)
    max_days = fields.Integer(validate=validate.Range(min=1, max=domain.MAX_DURATION_DAYS))
    mine = fields.Boolean(load_default=False, metadata={"description": "employer: list my organisation's listings"})


ListingPageSchema = page_schema(ListingSchema, "ListingPage")

# What a search shows of each listing except the fields that change without the listing changing: whether it is
# still open (with time) and its organisation's flag (with payment disputes). Dumped once per listing as the search
# keeps it (services/listing/search_model.py replaces a changed listing's dict, never changes it), not per request:
# the schema's dump was a quarter of a search's CPU. Bounded: past MAX_SHOWN listings it starts again.
_UNCHANGING = ListingSchema(exclude=("open_for_applications", "org_flag"))
_ORG_FLAG = OrgFlagSchema()
_shown: dict[str, tuple[dict, dict]] = {}  # listing id -> (the listing dict it was dumped from, its dump)
MAX_SHOWN = 20_000


def listing_page(listings: list[dict], flags: dict[str, dict | None], next_cursor: str | None) -> dict:
    """What ListingPageSchema dumps for a page of the search's listings with their organisations' flags
    (handlers.search_listings), the unchanging part of each listing dumped once."""
    now = datetime.now(UTC)
    items = []
    for listing in listings:
        flag = flags[listing["org_id"]]
        items.append(
            _unchanging(listing)
            | {
                "open_for_applications": domain.is_open_for_applications(listing, now),
                "org_flag": None if flag is None else _ORG_FLAG.dump(flag),
            }
        )
    return {"items": items, "next_cursor": next_cursor}


def _unchanging(listing: dict) -> dict:
    kept = _shown.get(listing["_id"])
    if kept is not None and kept[0] is listing:
        return kept[1]
    if len(_shown) >= MAX_SHOWN:
        _shown.clear()
    dumped = _UNCHANGING.dump(listing)
    _shown[listing["_id"]] = (listing, dumped)
    return dumped


class CategorySchema(ma.Schema):
    """A work domain: its code (what a listing's `category` holds) and its label for people."""

    code = fields.String()
    label = fields.String()


class CategoryListSchema(ma.Schema):
    """Every work domain, in the order pages offer them."""

    items = fields.List(fields.Nested(CategorySchema))
