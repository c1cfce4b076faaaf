"""CloudEvents 1.0 envelope and the event catalog: one marshmallow schema per event type.

Producers build events with `new_event`, which refuses data that fails its schema;
consumers parse with `parse_event`, which checks the envelope and, for known types, the data, and gives a typed
`Event`: its `data` is the schema-loaded payload as a frozen record (attributes, with datetimes, dates and Decimals
loaded), one record type per schema, made from the schema's own fields so each field is declared once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

TOPICS = {
    "listing": "stint.listing",
    "application": "stint.application",
    "certification": "stint.certification",
}
DLQ_SUFFIX = ".dlq"


class EventSchemaError(ValueError):
    """An event (envelope or data) does not match the catalog."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message if not errors else f"{message}: {json.dumps(errors, sort_keys=True)[:500]}")
        self.errors = errors or {}


class _Data(ma.Schema):
    """Event data: unknown fields are tolerated so producers can add fields compatibly (the typed record keeps the
    declared ones; the envelope as received keeps all). Loading gives the schema's record (`record_type`)."""

    class Meta:
        unknown = ma.INCLUDE

    @ma.post_load
    def _as_record(self, data: dict, **_kwargs) -> Any:
        record = record_type(type(self))
        return record(**{name: value for name, value in data.items() if name in record.__dataclass_fields__})


# The Python type each marshmallow field loads to (annotations of the record types).
_LOADED_TYPES: dict[type[f.Field], type] = {
    f.String: str,
    f.Integer: int,
    f.Float: float,
    f.Decimal: Decimal,
    f.Boolean: bool,
    f.AwareDateTime: datetime,
    f.Date: date,
    f.List: list,
    f.Dict: dict,
}
_RECORD_TYPES: dict[type[ma.Schema], type] = {}


def record_type(schema: type[ma.Schema]) -> type:
    """The frozen dataclass an event data schema loads into: one attribute per declared field (None when absent)."""
    if schema not in _RECORD_TYPES:
        attributes = []
        for name, field in schema._declared_fields.items():
            if isinstance(field, f.Nested):
                loaded: type = record_type(field.nested)
            else:
                loaded = next((t for kind, t in _LOADED_TYPES.items() if isinstance(field, kind)), object)
            attributes.append((name, loaded | None, dataclasses.field(default=None)))
        record = dataclasses.make_dataclass(schema.__name__, attributes, frozen=True)
        record.__module__ = __name__
        _RECORD_TYPES[schema] = record
    return _RECORD_TYPES[schema]


# ---- building blocks -------------------------------------------------------------------


class Person(_Data):
    id = f.String(required=True, validate=v.Length(min=1, max=200))
    name = f.String(load_default="", validate=v.Length(max=200))
    email = f.String(load_default="", validate=v.Length(max=320))


class Stipend(_Data):
    amount = f.Decimal(required=True, as_string=True, validate=v.Range(min=0))
    currency = f.String(required=True, validate=v.Regexp(r"^[A-Z]{3}$"))


class OrgData(_Data):
    org_id = f.String(required=True)
    name = f.String(required=True)
    website = f.String(load_default="", allow_none=True)
    status = f.String(required=True, validate=v.OneOf(["pending", "verified"]))
    contact_email = f.String(load_default="", metadata={"description": "where the organisation is emailed"})


class InvitationData(_Data):
    """A colleague invited to join an organisation; the notification service emails them the link."""

    invitation_id = f.String(required=True)
    org_id = f.String(required=True)
    org_name = f.String(required=True)
    email = f.Email(required=True)
    invited_by = f.Nested(Person, required=True)
    accept_url = f.Url(required=True, require_tld=False, schemes={"http", "https"})


class ListingData(_Data):
    """The full listing snapshot, so consumers keep their read model without calling back."""

    listing_id = f.String(required=True)
    org_id = f.String(required=True)
    org_name = f.String(required=True)
    org_status = f.String(required=True)
    title = f.String(required=True)
    summary = f.String(load_default="")
    brief = f.String(load_default="")
    deliverables = f.List(f.String(), load_default=list)
    skills = f.List(f.String(), load_default=list)
    category = f.String(load_default="")
    duration_days = f.Integer(required=True, validate=v.Range(min=1, max=28))
    effort_hours = f.Float(required=True, validate=v.Range(min=0))
    stipend = f.Nested(Stipend, required=True)
    seats = f.Integer(required=True, validate=v.Range(min=1))
    seats_filled = f.Integer(load_default=0)
    accepted_applications = f.List(
        f.String(),
        load_default=list,
        metadata={"description": "the applications holding its seats (a closing is not news to them)"},
    )
    apply_by = f.AwareDateTime(required=True)
    screening_questions = f.List(f.String(), load_default=list)
    status = f.String(required=True, validate=v.OneOf(["draft", "published", "closed"]))
    version = f.Integer(
        required=True, metadata={"description": "increases with every change; read models keep the newest"}
    )
    published_at = f.AwareDateTime(allow_none=True)
    closed_reason = f.String(allow_none=True)
    unpaid = f.Boolean(load_default=False, metadata={"description": "pays no stipend (the floor is 0)"})


class ApplicationData(_Data):
    application_id = f.String(required=True)
    listing_id = f.String(required=True)
    listing_title = f.String(required=True)
    org_id = f.String(required=True)
    student = f.Nested(Person, required=True)
    status = f.String(required=True)
    previous_status = f.String(allow_none=True)


class WorkData(_Data):
    application_id = f.String(required=True)
    listing_id = f.String(required=True)
    listing_title = f.String(required=True)
    org_id = f.String(required=True)
    student = f.Nested(Person, required=True)
    round = f.Integer(required=True, validate=v.Range(min=1))
    links = f.List(f.Url(schemes={"http", "https"}), load_default=list)
    notes = f.String(load_default="")
    hours_spent = f.Float(allow_none=True)
    feedback = f.String(load_default="")


class ApprovedListing(_Data):
    listing_id = f.String(required=True)
    title = f.String(required=True)
    summary = f.String(load_default="")
    brief = f.String(load_default="")
    deliverables = f.List(f.String(), load_default=list)
    skills = f.List(f.String(), load_default=list)
    category = f.String(load_default="")
    effort_hours = f.Float(required=True)
    duration_days = f.Integer(required=True)
    org_id = f.String(required=True)
    org_name = f.String(required=True)
    org_website = f.String(load_default="", allow_none=True)
    stipend = f.Nested(Stipend, allow_none=True, load_default=None, metadata={"description": "what the listing pays"})


class Submission(_Data):
    links = f.List(f.Url(schemes={"http", "https"}), required=True)
    notes = f.String(load_default="")
    digest = f.String(
        required=True,
        validate=v.Regexp(r"^[0-9a-f]{64}$"),
        metadata={"description": "SHA-256 (hex) of the approved submission"},
    )


class WorkApprovedData(WorkData):
    """Everything the certification service needs to issue a credential without calling back."""

    listing = f.Nested(ApprovedListing, required=True)
    hours_verified = f.Float(required=True, validate=v.Range(min=0))
    skills_demonstrated = f.List(f.String(), load_default=list)
    rating = f.Integer(required=True, validate=v.Range(min=1, max=5))
    approver = f.Nested(Person, required=True)
    started_on = f.Date(required=True)
    completed_on = f.Date(required=True)
    submission = f.Nested(Submission, required=True)


class CertificateData(_Data):
    credential_id = f.String(required=True, validate=v.Regexp(r"^urn:uuid:[0-9a-f-]{36}$"))
    application_id = f.String(required=True)
    student = f.Nested(Person, required=True)
    org_id = f.String(load_default="")
    listing_title = f.String(load_default="")
    verification_url = f.Url(required=True, require_tld=False)


class CertificateIssuedData(CertificateData):
    hours = f.Float(required=True)
    credits_recommended = f.Float(required=True)


class CertificateRevokedData(CertificateData):
    reason = f.String(required=True)


class CreditDecidedData(CertificateData):
    university_org = f.String(required=True)
    decision = f.String(required=True, validate=v.OneOf(["accepted", "rejected"]))
    credits_awarded = f.Float(load_default=0)
    course_code = f.String(load_default="")
    term = f.String(load_default="")
    note = f.String(load_default="")


class PaymentData(_Data):
    """A stipend's payment for approved work: recorded by the employer, confirmed or disputed by the student."""

    application_id = f.String(required=True)
    listing_id = f.String(required=True)
    listing_title = f.String(required=True)
    org_id = f.String(required=True)
    student = f.Nested(Person, required=True)
    status = f.String(required=True, validate=v.OneOf(["recorded", "confirmed", "disputed"]))
    previous_status = f.String(
        allow_none=True, load_default=None, metadata={"description": "the payment's status before; None at first"}
    )
    amount = f.Decimal(required=True, as_string=True, validate=v.Range(min=0))
    currency = f.String(required=True, validate=v.Regexp(r"^[A-Z]{3}$"))
    paid_on = f.AwareDateTime(required=True)
    reference = f.String(load_default="")
    reason = f.String(load_default="", metadata={"description": "the student's reason, for a dispute"})
    disputed_at = f.AwareDateTime(allow_none=True, load_default=None)


class UniversityData(_Data):
    """A university (its registrar's organisation) as it registers and is verified; `org_id` is its id."""

    org_id = f.String(required=True)
    name = f.String(required=True)
    aishe_code = f.String(required=True)
    website = f.String(load_default="", allow_none=True)
    status = f.String(required=True, validate=v.OneOf(["pending", "verified"]))
    contact_email = f.String(load_default="", metadata={"description": "where the university's registrar is emailed"})


class CreditRequestedData(_Data):
    """A student asks a verified university for academic credit for one of their credentials."""

    request_id = f.String(required=True)
    credential_id = f.String(required=True, validate=v.Regexp(r"^urn:uuid:[0-9a-f-]{36}$"))
    student = f.Nested(Person, required=True)
    university_id = f.String(required=True)
    university_name = f.String(load_default="")
    university_contact_email = f.String(load_default="", metadata={"description": "where its registrar is emailed"})
    listing_title = f.String(load_default="")
    employer = f.String(load_default="")
    hours = f.Float(load_default=0)
    note = f.String(load_default="")
    verification_url = f.Url(required=True, require_tld=False)


class CertificateReissuedData(CertificateIssuedData):
    """A credential issued again under the current key, replacing one signed with a revoked key."""

    reissue_of = f.String(required=True, validate=v.Regexp(r"^urn:uuid:[0-9a-f-]{36}$"))
    reason = f.String(required=True)


class EndorsementIssuedData(CertificateData):
    """The employer's organisation endorsed (recommended) a student's credential with a signed EndorsementCredential."""

    endorsement_id = f.String(required=True, validate=v.Regexp(r"^urn:uuid:[0-9a-f-]{36}$"))
    org_name = f.String(required=True)
    endorsement_url = f.Url(required=True, require_tld=False)


class KeyRevokedData(_Data):
    """An issuer signing key distrusted as compromised; the certification worker re-issues what it signed."""

    key_id = f.String(required=True)
    reason = f.String(load_default="")
    revoked_by = f.String(required=True)
    revoked_at = f.AwareDateTime(required=True)


# ---- the catalog -----------------------------------------------------------------------

CATALOG: dict[str, type[ma.Schema]] = {
    "stint.org.registered.v1": OrgData,
    "stint.org.verified.v1": OrgData,
    "stint.org.member_invited.v1": InvitationData,
    "stint.listing.published.v1": ListingData,
    "stint.listing.updated.v1": ListingData,
    "stint.listing.closed.v1": ListingData,
    "stint.application.submitted.v1": ApplicationData,
    "stint.application.shortlisted.v1": ApplicationData,
    "stint.application.accepted.v1": ApplicationData,
    "stint.application.rejected.v1": ApplicationData,
    "stint.application.withdrawn.v1": ApplicationData,
    "stint.work.submitted.v1": WorkData,
    "stint.work.changes_requested.v1": WorkData,
    "stint.work.rejected.v1": WorkData,
    "stint.work.approved.v1": WorkApprovedData,
    "stint.payment.recorded.v1": PaymentData,
    "stint.payment.confirmed.v1": PaymentData,
    "stint.payment.disputed.v1": PaymentData,
    "stint.certificate.issued.v1": CertificateIssuedData,
    "stint.certificate.revoked.v1": CertificateRevokedData,
    "stint.certificate.credit_decided.v1": CreditDecidedData,
    "stint.certificate.reissued.v1": CertificateReissuedData,
    "stint.endorsement.issued.v1": EndorsementIssuedData,
    "stint.university.registered.v1": UniversityData,
    "stint.university.verified.v1": UniversityData,
    "stint.credit.requested.v1": CreditRequestedData,
    "stint.key.revoked.v1": KeyRevokedData,
}

for _schema in CATALOG.values():
    record_type(_schema)  # made once at import, so threads consuming side by side share one type per schema

# Which service's topic carries each aggregate's events.
TOPIC_OF_AGGREGATE = {
    "org": TOPICS["listing"],
    "listing": TOPICS["listing"],
    "application": TOPICS["application"],
    "work": TOPICS["application"],
    "payment": TOPICS["application"],
    "certificate": TOPICS["certification"],
    "endorsement": TOPICS["certification"],
    "university": TOPICS["certification"],
    "credit": TOPICS["certification"],
    "key": TOPICS["certification"],
}


class EnvelopeSchema(ma.Schema):
    """CloudEvents 1.0, structured JSON mode."""

    class Meta:
        unknown = ma.INCLUDE  # CloudEvents allows extension attributes

    specversion = f.String(required=True, validate=v.Equal("1.0"))
    id = f.UUID(required=True)
    source = f.String(required=True, validate=v.Regexp(r"^/stint/[a-z]+$"))
    type = f.String(required=True, validate=v.Regexp(r"^stint\.[a-z_]+\.[a-z_]+\.v[0-9]+$"))
    subject = f.String(required=True, validate=v.Length(min=1))
    time = f.AwareDateTime(required=True)
    datacontenttype = f.String(load_default="application/json")
    traceparent = f.String(validate=v.Regexp(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"))
    data = f.Dict(required=True)


def topic_for(event_type: str) -> str:
    """The topic an event type is published to."""
    aggregate = event_type.split(".")[1]
    return TOPIC_OF_AGGREGATE[aggregate]


@functools.cache
def _instance(schema: type[ma.Schema]) -> ma.Schema:
    """One instance of a schema (a catalog's, or the envelope's), made on first use: making one copies every
    declared field, which cost more than the loading itself (0.18 ms of the 0.5 ms an apply spent making its event;
    the envelope's, 0.2 ms of every event a consumer read)."""
    return schema()


def validate_data(event_type: str, data: dict) -> Any:
    """Check `data` against the catalog schema of `event_type`; return it loaded (its typed record)."""
    schema = CATALOG.get(event_type)
    if schema is None:
        raise EventSchemaError(f"unknown event type {event_type!r}")
    try:
        return _instance(schema).load(data)
    except ma.ValidationError as exc:
        raise EventSchemaError(f"data of {event_type} does not match its schema", exc.messages) from None


def new_event(
    event_type: str, source: str, subject: str, data: dict, traceparent: str | None = None, time: datetime | None = None
) -> dict:
    """Build a CloudEvent; raise EventSchemaError when `data` fails its schema."""
    validate_data(event_type, data)
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/stint/{source}",
        "type": event_type,
        "subject": str(subject),
        "time": (time or datetime.now(UTC)).isoformat(),
        "datacontenttype": "application/json",
        "data": json.loads(json.dumps(data, default=_json_default)),
    }
    if traceparent:
        event["traceparent"] = traceparent
    return event


def encode_event(event: dict) -> bytes:
    """The Kafka message value for an event. Its data was checked when it was made (new_event) and is checked
    again when read (parse_event): an event is validated once on each side of the broker, not on every hop."""
    return json.dumps(event, separators=(",", ":"), default=_json_default).encode()


@dataclasses.dataclass(frozen=True, eq=False)
class Event(Mapping):
    """An event as a consumer reads it: checked once, its data typed.

    `data` is the catalog schema's typed record (None for a type not in the catalog). `envelope` is the CloudEvent
    as received (JSON values), for what stores, forwards or renders the event as it was sent; the Event also reads
    as that mapping (`event["data"]`), for consumers not yet moved to the typed attributes.
    """

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    traceparent: str | None
    data: Any
    envelope: dict

    def __getitem__(self, key: str) -> Any:
        return self.envelope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.envelope)

    def __len__(self) -> int:
        return len(self.envelope)


def read_event(envelope: Mapping) -> Event:
    """Check a CloudEvent (a decoded message, or one `new_event` made) and type it; raise EventSchemaError."""
    if isinstance(envelope, Event):
        return envelope
    if not isinstance(envelope, dict):
        raise EventSchemaError("message is not a JSON object")
    try:
        loaded = _instance(EnvelopeSchema).load(envelope)
    except ma.ValidationError as exc:
        raise EventSchemaError("message is not a CloudEvents 1.0 envelope", exc.messages) from None
    event_type = envelope["type"]
    data = validate_data(event_type, envelope["data"]) if event_type in CATALOG else None
    return Event(
        id=envelope["id"],
        type=event_type,
        source=envelope["source"],
        subject=envelope["subject"],
        time=loaded["time"],
        traceparent=envelope.get("traceparent"),
        data=data,
        envelope=envelope,
    )


def parse_event(raw: bytes | str) -> Event:
    """Decode, check and type a Kafka message value; raise EventSchemaError when malformed.

    Unknown types pass the envelope check only (their `data` is None): consumers skip types they do not know.
    """
    return read_event(decode_message(raw))


def decode_message(raw: bytes | str | None):
    """A Kafka message value as JSON (not yet checked); EventSchemaError when it is not JSON."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:  # TypeError: a record with no value
        raise EventSchemaError(f"message is not JSON: {exc}") from None


def _json_default(value):
    """JSON for the few non-JSON types event data carries."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} in an event")
