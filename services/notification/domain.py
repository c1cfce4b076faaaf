"""Who hears of which event, on which channel, and how deliveries retry: pure rules, no I/O."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from shared.fields import day_in_india

IN_APP, EMAIL, WEBHOOK = "in_app", "email", "webhook"
CHANNELS = (IN_APP, EMAIL, WEBHOOK)

# Audiences a route can address.
STUDENT = "student"  # the student named in the event data
ORG = "org"  # the organisation named by `org_id` in the event data
LISTING_APPLICANTS = "listing_applicants"  # every student with an open application to the listing
INVITEE = "invitee"  # someone invited by email who may not have an account yet: email only
UNIVERSITY = "university"  # the university named by `university_id` in the event data (its registrars' org)
# Every administrator's inbox (in-app: an admin reads it with their own token); disputes land here.
ADMINS_RECIPIENT = "role:admin"

# An application still waiting for the employer's decision; only these hear that a listing closed.
OPEN_APPLICATION_STATUSES = ("applied", "shortlisted")
ANY_EVENT_TYPE = "*"


def hears_of_closing(application_id: str, status: str, seat_holders: list[str]) -> bool:
    """Whether the student of an application is told its listing closed: only while it waits for a decision, and
    never when it holds one of the seats (`seat_holders`: the closing listing's accepted applications, counted by
    the listing service before this service may have read the acceptance).
    """
    return status in OPEN_APPLICATION_STATUSES and application_id not in seat_holders


# Ids are derived from the idempotency key, so a redelivered event lands on the same documents.
_KEY_NAMESPACE = uuid.UUID("6f1d7f8e-3c55-4b0f-9a8e-5d1c2b7a9e41")


@dataclass(frozen=True)
class Route:
    """Who an event type is told to, with which templates, title and one-line summary."""

    audience: str
    template: str
    title: str
    summary: str
    link: str = ""  # context key holding the link the message points to
    copy_admins: bool = False  # also into the administrators' inbox


ROUTES: dict[str, Route] = {
    "stint.org.verified.v1": Route(
        ORG, "org_verified", "{org_name} is verified", "{org_name} is verified: you can now publish listings."
    ),
    "stint.org.member_invited.v1": Route(
        INVITEE,
        "org_member_invited",
        "Join {org_name} on Stint",
        "{inviter_name} invited you to join {org_name} on Stint to post micro-internships together.",
        link="accept_url",
    ),
    "stint.listing.closed.v1": Route(
        LISTING_APPLICANTS,
        "listing_closed",
        "{listing_title} has closed",
        "{listing_title} at {org_name} has closed; it takes no new applicants.",
    ),
    "stint.application.submitted.v1": Route(
        ORG,
        "application_submitted",
        "New application for {listing_title}",
        "{student_name} applied to {listing_title}.",
    ),
    "stint.application.shortlisted.v1": Route(
        STUDENT,
        "application_shortlisted",
        "You are shortlisted for {listing_title}",
        "The employer shortlisted your application to {listing_title}.",
    ),
    "stint.application.accepted.v1": Route(
        STUDENT,
        "application_accepted",
        "You are accepted for {listing_title}",
        "Your application to {listing_title} was accepted: you can start the work.",
    ),
    "stint.application.rejected.v1": Route(
        STUDENT,
        "application_rejected",
        "Your application to {listing_title}",
        "Your application to {listing_title} was not taken forward.",
    ),
    "stint.application.withdrawn.v1": Route(
        ORG,
        "application_withdrawn",
        "{student_name} withdrew from {listing_title}",
        "{student_name} withdrew their application to {listing_title}.",
    ),
    "stint.work.submitted.v1": Route(
        ORG,
        "work_submitted",
        "Work to review for {listing_title}",
        "{student_name} submitted round {round} of their work on {listing_title}.",
    ),
    "stint.work.changes_requested.v1": Route(
        STUDENT,
        "work_changes_requested",
        "Changes requested on {listing_title}",
        "The employer asked for changes to round {round} of your work on {listing_title}.",
    ),
    "stint.work.rejected.v1": Route(
        STUDENT,
        "work_rejected",
        "Your work on {listing_title} was not approved",
        "The employer rejected round {round} of your work on {listing_title}.",
    ),
    "stint.work.approved.v1": Route(
        STUDENT,
        "work_approved",
        "Your work on {listing_title} is approved",
        "The employer approved your work on {listing_title}; your credential is on its way.",
    ),
    "stint.payment.recorded.v1": Route(
        STUDENT,
        "payment_recorded",
        "Payment recorded for {listing_title}",
        "{org_name} recorded paying you {amount} {currency} for {listing_title}: confirm it, or dispute it if it "
        "did not arrive.",
    ),
    "stint.payment.confirmed.v1": Route(
        ORG,
        "payment_confirmed",
        "{student_name} confirmed the payment for {listing_title}",
        "{student_name} confirmed receiving {amount} {currency} for {listing_title}.",
    ),
    "stint.payment.disputed.v1": Route(
        ORG,
        "payment_disputed",
        "{student_name} disputes the payment for {listing_title}",
        "{student_name} disputes the payment of {amount} {currency} recorded for {listing_title}: {reason}",
        copy_admins=True,
    ),
    "stint.certificate.issued.v1": Route(
        STUDENT,
        "certificate_issued",
        "Your credential for {listing_title} is ready",
        "Your verifiable credential for {listing_title} is issued: share its verification link.",
        link="verification_url",
    ),
    "stint.certificate.revoked.v1": Route(
        STUDENT,
        "certificate_revoked",
        "Your credential for {listing_title} was revoked",
        "Your credential for {listing_title} was revoked: {reason}",
        link="verification_url",
    ),
    "stint.certificate.credit_decided.v1": Route(
        STUDENT,
        "credit_decided",
        "Credit decision for {listing_title}",
        "A university {decision} your credential for {listing_title} for academic credit.",
        link="verification_url",
    ),
    "stint.certificate.reissued.v1": Route(
        STUDENT,
        "certificate_reissued",
        "Your credential for {listing_title} was re-issued",
        "Stint re-issued your credential for {listing_title} because {reason}: share its new verification link.",
        link="verification_url",
    ),
    "stint.endorsement.issued.v1": Route(
        STUDENT,
        "endorsement_issued",
        "{org_name} endorsed your work on {listing_title}",
        "{org_name} wrote a signed recommendation of your work on {listing_title}; it shows with your credential.",
        link="verification_url",
    ),
    "stint.university.verified.v1": Route(
        ORG,
        "university_verified",
        "{org_name} is verified",
        "{org_name} is verified on Stint: students can ask it for academic credit.",
    ),
    "stint.credit.requested.v1": Route(
        UNIVERSITY,
        "credit_requested",
        "Credit request for {listing_title}",
        "{student_name} asks {university_name} for academic credit for {listing_title}.",
        link="verification_url",
    ),
}

# Event types no person is told of (webhooks still carry them to organisations that subscribe).
DELIBERATELY_SILENT: dict[str, str] = {
    "stint.university.registered.v1": (
        "the registrar registered the university themself; admins find it in GET /universities?status=pending"
    ),
    "stint.key.revoked.v1": "an admin revoked the key; each student hears of their re-issued credential instead",
    "stint.org.registered.v1": "the employer registered the organisation themself; kept only as the org read model",
    "stint.listing.published.v1": "the employer published it themself; students find listings by searching",
    "stint.listing.updated.v1": "edits are the employer's own; applicants hear of the outcome that matters (closing)",
}


@dataclass(frozen=True)
class Addressee:
    """One recipient of a message: `user:<sub>` or `org:<org_id>`, with a name and an email if known."""

    recipient: str
    name: str = ""
    email: str = ""

    @property
    def is_user(self) -> bool:
        """True for a person (whose preferences apply), False for an organisation."""
        return self.recipient.startswith("user:")


def user_recipient(sub: str) -> str:
    """The recipient key of a user."""
    return f"user:{sub}"


def org_recipient(org_id: str) -> str:
    """The recipient key of an organisation."""
    return f"org:{org_id}"


def email_recipient(address: str) -> str:
    """The recipient key of someone known only by their email address."""
    return f"email:{address.lower()}"


def webhook_recipient(webhook_id: str) -> str:
    """The recipient key of a webhook endpoint (each endpoint gets its own delivery)."""
    return f"webhook:{webhook_id}"


def inbox_owners(sub: str, role: str, org: str | None) -> list[str]:
    """Whose inbox entries a caller may read: their own and, for employers and universities, their org's."""
    owners = [user_recipient(sub)]
    if role in ("employer", "university") and org:
        owners.append(org_recipient(org))
    if role == "admin":
        owners.append(ADMINS_RECIPIENT)
    return owners


def notification_id(event_id: str, recipient: str, channel: str) -> str:
    """The one id of (event, recipient, channel): the same however often the event arrives."""
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{event_id}|{recipient}|{channel}"))


@dataclass(frozen=True)
class Preferences:
    """A user's channels; everything is on until they turn it off."""

    in_app: bool = True
    email: bool = True
    webhook: bool = True

    @classmethod
    def from_document(cls, document: Mapping | None) -> Preferences:
        """Preferences from a stored document (defaults when there is none)."""
        document = document or {}
        return cls(**{channel: bool(document.get(channel, True)) for channel in CHANNELS})


def channels_for(addressee: Addressee, preferences: Preferences) -> list[str]:
    """The person channels (in-app, email) an addressee gets; an organisation always gets both; someone known only
    by their email address gets email."""
    if addressee.recipient.startswith("email:"):
        return [EMAIL] if addressee.email else []
    chosen = [IN_APP, EMAIL] if not addressee.is_user else [c for c in (IN_APP, EMAIL) if getattr(preferences, c)]
    if EMAIL in chosen and not addressee.email:
        chosen.remove(EMAIL)
    return chosen


def org_concerned(event_type: str, data: Mapping) -> str:
    """The organisation whose webhooks hear an event: the university for a credit decision, else the employer."""
    if event_type == "stint.certificate.credit_decided.v1":
        return str(data.get("university_org") or "")
    if event_type == "stint.credit.requested.v1":
        return str(data.get("university_id") or "")
    return str(data.get("org_id") or "")


def subscribes_to(event_types: list[str], event_type: str) -> bool:
    """True when a webhook registered for `event_types` wants `event_type`."""
    return ANY_EVENT_TYPE in event_types or event_type in event_types


def mask_secret(secret: str) -> str:
    """A hint that lets an owner recognise their secret without revealing it."""
    return "*" * 8 + secret[-4:]


def signature(body: bytes, secret: str) -> str:
    """The X-Stint-Signature value: HMAC-SHA256 of the raw body with the endpoint's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, sha256).hexdigest()


class _Blank(dict):
    """Formatting context where a missing value reads as empty rather than failing the message."""

    def __missing__(self, key):
        return ""


def _number(value) -> str:
    return "" if value is None else f"{float(value):g}"


def message_context(event_type: str, data: Mapping, org_name: str = "") -> dict:
    """The flat values titles, summaries and templates use, from an event's data."""
    student = data.get("student") or {}
    listing = data.get("listing") or {}
    return {
        "event_type": event_type,
        "listing_title": data.get("listing_title") or data.get("title") or listing.get("title") or "your stint",
        "org_name": data.get("org_name") or data.get("name") or listing.get("org_name") or org_name or "the employer",
        "student_name": student.get("name") or "A student",
        "round": data.get("round", ""),
        "feedback": data.get("feedback", ""),
        "verification_url": data.get("verification_url", ""),
        "reason": data.get("reason", ""),
        "decision": data.get("decision", ""),
        "credits_awarded": _number(data.get("credits_awarded")),
        "course_code": data.get("course_code", ""),
        "term": data.get("term", ""),
        "note": data.get("note", ""),
        "hours": _number(data.get("hours") if "hours" in data else data.get("hours_verified")),
        "credits_recommended": _number(data.get("credits_recommended")),
        "rating": data.get("rating", ""),
        "hours_spent": _number(data.get("hours_spent")),
        "links": list(data.get("links") or []),
        "closed_reason": data.get("closed_reason") or "",
        "inviter_name": (data.get("invited_by") or {}).get("name") or "A colleague",
        "accept_url": data.get("accept_url", ""),
        "university_name": data.get("university_name") or "your university",
        "amount": data.get("amount", ""),
        "currency": data.get("currency", ""),
        "paid_on": _day(data.get("paid_on")),
        "reference": data.get("reference", ""),
    }


def _day(moment) -> str:
    """The day an ISO timestamp falls on in India Standard Time ("" when there is none)."""
    return day_in_india(datetime.fromisoformat(moment)).isoformat() if moment else ""


def render_line(template: str, context: Mapping, limit: int = 300) -> str:
    """Fill a title or summary; values are data, never format specs, so user text cannot break it."""
    values = _Blank({k: v for k, v in context.items() if isinstance(v, (str, int, float))})
    # One line: titles become email subjects, where a line break would start a new header.
    return " ".join(template.format_map(values).split())[:limit]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How outbound deliveries (webhooks and emails) retry, from STINT_WEBHOOK_* settings."""

    max_attempts: int = 5
    backoff_seconds: float = 10.0
    timeout_seconds: float = 5.0
    concurrency: int = 8

    @classmethod
    def from_settings(cls, extra: Mapping[str, str]) -> DeliveryPolicy:
        """Read the policy from Settings.extra; raise ValueError on a nonsensical value."""
        policy = cls(
            max_attempts=int(extra.get("STINT_WEBHOOK_MAX_ATTEMPTS", cls.max_attempts)),
            backoff_seconds=float(extra.get("STINT_WEBHOOK_BACKOFF_SECONDS", cls.backoff_seconds)),
            timeout_seconds=float(extra.get("STINT_WEBHOOK_TIMEOUT_SECONDS", cls.timeout_seconds)),
            concurrency=int(extra.get("STINT_WEBHOOK_CONCURRENCY", cls.concurrency)),
        )
        if policy.max_attempts < 1 or policy.backoff_seconds < 0 or policy.timeout_seconds <= 0:
            raise ValueError(f"invalid webhook delivery policy: {policy}")
        if policy.concurrency < 1:
            raise ValueError("STINT_WEBHOOK_CONCURRENCY must be at least 1")
        return policy

    def next_attempt_at(self, attempts_made: int, now: datetime) -> datetime | None:
        """When to try again after `attempts_made` failures; None when the attempts are used up."""
        if attempts_made >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.backoff_seconds * 2 ** (attempts_made - 1))
