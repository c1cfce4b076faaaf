"""Organisations and listings: their states, rules and event snapshots. Pure Python, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from shared.errors import Conflict, Unprocessable

DRAFT, PUBLISHED, CLOSED = "draft", "published", "closed"
PENDING, VERIFIED = "pending", "verified"
EDITABLE = (DRAFT, PUBLISHED)

CLOSED_BY_OWNER, CLOSED_AT_DEADLINE, CLOSED_SEATS_FILLED = "closed_by_owner", "deadline", "seats_filled"

# An organisation whose payment dispute stays open this long is flagged on its listings.
DISPUTE_FLAG_AFTER = timedelta(days=14)
# Limits a sensible brief stays within (the HTTP schemas enforce the same numbers).
MAX_DURATION_DAYS = 28
MAX_EFFORT_HOURS = 160
MAX_HOURS_PER_DAY = 12  # a one-day stint cannot honestly ask for a week of work
MAX_SEATS = 50
MAX_OPEN_DAYS = 365  # apply_by further out than this is almost certainly a typo
MAX_QUERY_TERMS = 10

# The work domains a listing belongs to (DESIGN §3, from the seed article), in the order pages offer them.
CATEGORIES = {
    "content": "Content writing and marketing",
    "data": "Data entry and research",
    "design": "Graphic design",
    "social": "Social media management",
    "testing": "Product testing and user research",
    "business": "Business analysis and strategy",
    "other": "Other",
}
OTHER_CATEGORY = "other"
# Free-text categories written before the domains existed: a word in them -> the domain it names (first match wins).
CATEGORY_WORDS = (
    ("social", ("social", "instagram", "twitter", "linkedin", "community", "influencer")),
    ("content", ("content", "writing", "writer", "copywriting", "copy", "blog", "marketing", "seo", "editing")),
    ("design", ("design", "graphic", "graphics", "ui", "ux", "illustration", "branding", "visual", "figma")),
    ("testing", ("testing", "test", "qa", "usability", "user research", "ux research", "quality")),
    ("data", ("data", "entry", "research", "analytics", "spreadsheet", "excel", "survey")),
    ("business", ("business", "strategy", "finance", "operations", "consulting", "sales", "market research")),
)
# With a stipend floor above zero, an amount of zero is never allowed; at zero, a listing paying nothing is unpaid.
DEFAULT_STIPEND_FLOOR = Decimal("1000")
FLOOR_CURRENCY = "INR"

# Words too common to narrow a search; dropped from the index and from queries alike.
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it of on or our the this to we with you your".split()  # noqa: SIM905
)
# Letters and digits, keeping a trailing + or # so "C++" and "C#" stay searchable.
TOKEN = re.compile(r"[^\W_]+[+#]*")

# Fields an owner writes; the rest of a listing is derived or kept by the service.
AUTHORED_FIELDS = (
    "title",
    "summary",
    "brief",
    "deliverables",
    "skills",
    "category",
    "duration_days",
    "effort_hours",
    "stipend",
    "seats",
    "apply_by",
    "screening_questions",
)


# ---- search terms ----------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """The lowercase words of `text` that a search can match, in order, stop words removed."""
    return [word for word in TOKEN.findall(text.lower()) if word not in STOP_WORDS]


def search_terms(title: str, summary: str, skills: list[str]) -> list[str]:
    """The distinct words a listing is found by: those of its title, summary and skills."""
    words = tokens(title) + tokens(summary)
    for skill in skills:
        words += tokens(skill)
    return sorted(set(words))


def query_terms(q: str | None) -> list[str]:
    """The distinct words of a search query; every one must match."""
    words = list(dict.fromkeys(tokens(q or "")))
    if len(words) > MAX_QUERY_TERMS:
        raise Unprocessable(
            f"a search may use at most {MAX_QUERY_TERMS} words", code="too_many_search_words", details={"q": q}
        )
    return words


def skill_key(skill: str) -> str:
    """A skill as the skill filter compares it: lowercase, single spaces."""
    return " ".join(skill.lower().split())


# ---- work domains and stipends --------------------------------------------------------


def category_of(free_text: str) -> str:
    """The work domain a free-text category names (the migration of listings written before the domains)."""
    text = " ".join(free_text.lower().replace("-", " ").replace("_", " ").split())
    if text in CATEGORIES:
        return text
    for phrase_domain, words in CATEGORY_WORDS:
        if any(" " in word and word in text for word in words):
            return phrase_domain
    found = set(TOKEN.findall(text))
    for word_domain, words in CATEGORY_WORDS:
        if found & set(words):
            return word_domain
    return OTHER_CATEGORY


@dataclass(frozen=True)
class StipendFloor:
    """The least a listing may pay (STINT_STIPEND_FLOOR, in INR, default 1000; 0 allows unpaid listings).

    No exchange rates are kept: another currency's floor is STINT_STIPEND_FLOOR_<CODE> when set; without it a
    listing in that currency must still pay something, unless the INR floor is 0.
    """

    inr: Decimal = DEFAULT_STIPEND_FLOOR
    others: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def from_extra(cls, extra: Mapping[str, str]) -> StipendFloor:
        """Read the floors from settings; ValueError when one is not a non-negative number."""
        floors = {}
        for name, value in extra.items():
            if name == "STINT_STIPEND_FLOOR" or re.fullmatch(r"STINT_STIPEND_FLOOR_[A-Z]{3}", name):
                try:
                    amount = Decimal(value)
                except ArithmeticError:
                    amount = Decimal(-1)
                if not amount.is_finite() or amount < 0:
                    raise ValueError(f"{name} must be a non-negative amount, not {value!r}")
                floors[name.removeprefix("STINT_STIPEND_FLOOR").lstrip("_") or FLOOR_CURRENCY] = amount
        inr = floors.pop(FLOOR_CURRENCY, DEFAULT_STIPEND_FLOOR)
        return cls(inr, tuple(sorted(floors.items())))

    @property
    def allows_unpaid(self) -> bool:
        """An operator set the floor to 0: listings may pay nothing (and are labelled unpaid)."""
        return self.inr == 0

    def minimum(self, currency: str) -> Decimal | None:
        """The least amount in `currency`; None when no floor is known for it."""
        if currency == FLOOR_CURRENCY:
            return self.inr
        return dict(self.others).get(currency)


def check_stipend(stipend: dict, floor: StipendFloor) -> None:
    """A listing pays at least the floor; with the floor at 0 it may pay nothing."""
    amount, currency = Decimal(stipend["amount"]), stipend["currency"]
    minimum = floor.minimum(currency)
    if minimum is None:
        if amount > 0 or floor.allows_unpaid:
            return
        raise Unprocessable(
            "the stipend must be more than 0: micro-internships on Stint are paid",
            code="stipend_below_floor",
            details={"stipend": [f"must be more than 0 {currency}"]},
        )
    if amount < minimum:
        raise Unprocessable(
            f"the stipend must be at least {minimum:,} {currency}, the platform's floor",
            code="stipend_below_floor",
            details={"stipend": [f"must be at least {minimum:,} {currency}"], "floor": f"{minimum} {currency}"},
        )


def is_unpaid(listing: Mapping) -> bool:
    """A listing that pays nothing (only possible when the operator set the floor to 0)."""
    return Decimal(listing["stipend"]["amount"]) == 0


def org_flag(open_disputes: Mapping[str, datetime], now: datetime) -> dict | None:
    """The warning a listing carries when its organisation left a payment dispute open for 14 days or more."""
    if not open_disputes:
        return None
    oldest = min(open_disputes.values())
    return {"open_payment_dispute_since": oldest} if now - oldest >= DISPUTE_FLAG_AFTER else None


# ---- time ------------------------------------------------------------------------------


def to_millis(moment: datetime) -> datetime:
    """`moment` at the millisecond precision the database keeps, so events match stored state."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def check_apply_by(apply_by: datetime, now: datetime) -> None:
    """Applications must close in the future, and not absurdly far in it."""
    if apply_by <= now:
        raise Unprocessable(
            "apply_by must be in the future", code="apply_by_passed", details={"apply_by": apply_by.isoformat()}
        )
    if apply_by > now + timedelta(days=MAX_OPEN_DAYS):
        raise Unprocessable(
            f"apply_by must be within {MAX_OPEN_DAYS} days", code="apply_by_too_far", details={"apply_by": None}
        )


# ---- listings --------------------------------------------------------------------------


def derived_fields(listing: dict) -> dict:
    """The fields the service keeps for search and filters, computed from the authored ones."""
    return {
        "search_terms": search_terms(listing["title"], listing["summary"], listing["skills"]),
        "skill_keys": sorted({skill_key(skill) for skill in listing["skills"]}),
        "category_key": listing["category"].strip().lower(),
        "stipend_amount": float(Decimal(listing["stipend"]["amount"])),
    }


def normalised(fields: dict) -> dict:
    """Authored fields in their stored form (stipend amount as an exact string, times in ms)."""
    stored = dict(fields)
    if "stipend" in stored:
        stored["stipend"] = {
            "amount": str(Decimal(stored["stipend"]["amount"]).quantize(Decimal("0.01")) + 0),  # no "-0.00"
            "currency": stored["stipend"]["currency"],
        }
    if "apply_by" in stored:
        stored["apply_by"] = to_millis(stored["apply_by"])
    return stored


def check_effort(effort_hours: float, duration_days: int) -> None:
    """The hours asked for must fit the days given."""
    if effort_hours > duration_days * MAX_HOURS_PER_DAY:
        raise Unprocessable(
            f"effort_hours cannot exceed {MAX_HOURS_PER_DAY} hours per day of duration_days",
            code="effort_exceeds_duration",
            details={"effort_hours": effort_hours, "duration_days": duration_days},
        )


def new_listing(
    listing_id: str, fields: dict, org: dict, author: str, now: datetime, floor: StipendFloor = StipendFloor()
) -> dict:
    """A draft listing of `org`, checked against the rules."""
    check_apply_by(fields["apply_by"], now)
    check_stipend(fields["stipend"], floor)
    check_effort(fields["effort_hours"], fields["duration_days"])
    listing = {
        "_id": listing_id,
        "org_id": org["_id"],
        "org_name": org["name"],
        "org_status": org["status"],
        **normalised({"screening_questions": [], **fields}),
        "seats_filled": 0,
        "accepted_applications": [],
        "released_applications": [],
        "status": DRAFT,
        "version": 1,
        "created_by": author,
        "created_at": now,
        "updated_at": now,
        "published_at": None,
        "closed_at": None,
        "closed_reason": None,
    }
    return {**listing, **derived_fields(listing)}


def edit(listing: dict, changes: dict, now: datetime, floor: StipendFloor = StipendFloor()) -> dict | None:
    """The fields to set for an owner's edit; None when nothing differs. Closed listings cannot change."""
    if listing["status"] not in EDITABLE:
        raise Conflict("a closed listing cannot be edited", code="listing_closed")
    changes = {k: v for k, v in normalised(changes).items() if k in AUTHORED_FIELDS and listing.get(k) != v}
    if not changes:
        return None
    merged = {**listing, **changes}
    if "apply_by" in changes:
        check_apply_by(changes["apply_by"], now)
    if "stipend" in changes:
        check_stipend(changes["stipend"], floor)
    check_effort(merged["effort_hours"], merged["duration_days"])
    if merged["seats"] <= merged["seats_filled"] and listing["status"] == PUBLISHED:
        raise Conflict(
            f"{merged['seats_filled']} seats are already filled; seats must stay above that",
            code="seats_below_filled",
            details={"seats_filled": merged["seats_filled"]},
        )
    return {**changes, **derived_fields(merged), **_touched(listing, now)}


def publish(listing: dict, org: dict, now: datetime, floor: StipendFloor = StipendFloor()) -> dict | None:
    """The fields to set to publish a draft; None when it is already published.

    The organisation must be verified, the deadline ahead and the stipend at least today's floor.
    """
    if listing["status"] == PUBLISHED:
        return None
    if listing["status"] == CLOSED:
        raise Conflict("a closed listing cannot be published again", code="listing_closed")
    if org["status"] != VERIFIED:
        raise Conflict(
            "the organisation must be verified by an administrator before it can publish",
            code="org_not_verified",
        )
    if listing["apply_by"] <= now:
        raise Unprocessable(
            "apply_by has passed; move it into the future before publishing",
            code="apply_by_passed",
            details={"apply_by": listing["apply_by"].isoformat()},
        )
    check_stipend(listing["stipend"], floor)
    return {"status": PUBLISHED, "published_at": now, "org_name": org["name"], "org_status": org["status"]} | (
        _touched(listing, now)
    )


def close(listing: dict, reason: str, now: datetime) -> dict | None:
    """The fields to set to close a published listing; None when it is already closed."""
    if listing["status"] == CLOSED:
        return None
    if listing["status"] != PUBLISHED:
        raise Conflict("only a published listing can be closed", code="listing_not_published")
    return {"status": CLOSED, "closed_at": now, "closed_reason": reason, **_touched(listing, now)}


def close_if_expired(listing: dict, now: datetime) -> dict | None:
    """The fields to set when the deadline job finds the listing past its deadline; else None."""
    return close(listing, CLOSED_AT_DEADLINE, now) if is_expired(listing, now) else None


def count_seat(listing: dict, application_id: str, now: datetime) -> dict | None:
    """The fields to set when an application is accepted; None when it is already counted.

    Filling the last seat closes a published listing.
    """
    if application_id in listing["accepted_applications"] or application_id in listing["released_applications"]:
        return None
    accepted = [*listing["accepted_applications"], application_id]
    changes = {"accepted_applications": accepted, "seats_filled": len(accepted), **_touched(listing, now)}
    if listing["status"] == PUBLISHED and len(accepted) >= listing["seats"]:
        changes.update(status=CLOSED, closed_at=now, closed_reason=CLOSED_SEATS_FILLED)
    return changes


def release_seat(listing: dict, application_id: str, now: datetime) -> dict | None:
    """The fields to set when an accepted application leaves; None when it holds no seat.

    A listing that closed stays closed: students may already have been told it is full.
    """
    if application_id not in listing["accepted_applications"]:
        return None
    accepted = [a for a in listing["accepted_applications"] if a != application_id]
    return {
        "accepted_applications": accepted,
        "released_applications": [*listing["released_applications"], application_id],
        "seats_filled": len(accepted),
        **_touched(listing, now),
    }


def rename_org(listing: dict, org: dict, now: datetime) -> dict | None:
    """The fields to set when the organisation's name or status changed; None when nothing did."""
    if (listing["org_name"], listing["org_status"]) == (org["name"], org["status"]):
        return None
    return {"org_name": org["name"], "org_status": org["status"], **_touched(listing, now)}


def recategorise(listing: dict, now: datetime) -> dict | None:
    """The fields to set to move a free-text category onto a work domain; None when it names one already.

    The text written is kept in `category_text`, so nothing the employer wrote is lost.
    """
    if listing.get("category") in CATEGORIES:
        return None
    code = category_of(listing.get("category") or "")
    return {"category": code, "category_key": code, "category_text": listing.get("category"), **_touched(listing, now)}


def _touched(listing: dict, now: datetime) -> dict:
    """Every change bumps the version, so read models keep the newest snapshot."""
    return {"version": listing["version"] + 1, "updated_at": now}


def seats_left(listing: dict) -> int:
    """Seats not yet taken by accepted applications."""
    return max(0, listing["seats"] - listing["seats_filled"])


def is_open_for_applications(listing: dict, now: datetime) -> bool:
    """Published, before its deadline, with a seat left."""
    return listing["status"] == PUBLISHED and listing["apply_by"] > now and seats_left(listing) > 0


def is_expired(listing: dict, now: datetime) -> bool:
    """A published listing whose deadline has passed (the deadline job will close it)."""
    return listing["status"] == PUBLISHED and listing["apply_by"] <= now


def event_type_for(before: dict, after: dict) -> str | None:
    """The event a change announces: published, updated (while published), closed; None for drafts."""
    if after["status"] == PUBLISHED:
        return "stint.listing.updated.v1" if before["status"] == PUBLISHED else "stint.listing.published.v1"
    if after["status"] == CLOSED and before["status"] != CLOSED:
        return "stint.listing.closed.v1"
    return None


def snapshot(listing: dict) -> dict:
    """The listing as events carry it (shared.events.ListingData)."""
    return {
        "listing_id": listing["_id"],
        "org_id": listing["org_id"],
        "org_name": listing["org_name"],
        "org_status": listing["org_status"],
        **{name: listing[name] for name in AUTHORED_FIELDS},
        "seats_filled": listing["seats_filled"],
        "accepted_applications": listing["accepted_applications"],
        "status": listing["status"],
        "version": listing["version"],
        "published_at": listing["published_at"],
        "closed_reason": listing["closed_reason"],
        "unpaid": is_unpaid(listing),
    }


# ---- organisations ---------------------------------------------------------------------


def new_org(org_id: str, profile: dict, contact_email: str, registered_by: str, now: datetime) -> dict:
    """A newly registered organisation, pending an administrator's verification."""
    return {
        "_id": org_id,
        **profile,
        "contact_email": contact_email,
        "status": PENDING,
        "registered_by": registered_by,
        "created_at": now,
        "updated_at": now,
        "verified_at": None,
        "verified_by": None,
    }


def org_snapshot(org: dict) -> dict:
    """The organisation as events carry it (shared.events.OrgData)."""
    return {
        "org_id": org["_id"],
        "name": org["name"],
        "website": org["website"],
        "status": org["status"],
        "contact_email": org.get("contact_email", ""),
    }


def new_org_id(name: str, suffix: str) -> str:
    """An organisation id from its name, readable in tokens and URLs (`acme-labs-3f9a1c`)."""
    slug = "-".join(TOKEN.findall(name.lower().replace("+", "").replace("#", "")))[:40].strip("-") or "org"
    return f"{slug}-{suffix}"


# ---- accounts and members --------------------------------------------------------------

SELF_CHOSEN_ROLES = ("student", "employer")  # university and admin are granted by an administrator
ROLES_WITH_ORG = ("employer", "university")
INVITATION_PENDING, INVITATION_ACCEPTED = "pending", "accepted"


def check_chosen_role(current_role: str | None, wanted: str) -> None:
    """A person picks student or employer once; an administrator grants anything else."""
    if wanted not in SELF_CHOSEN_ROLES:
        raise Unprocessable(
            "choose student or employer; an administrator grants the university and admin roles",
            code="role_not_self_chosen",
            details={"role": ["choose student or employer"]},
        )
    if current_role:
        raise Conflict(f"this account is already a {current_role}", code="role_already_chosen")


def check_granted_role(role: str, org: str | None) -> None:
    """Employers and universities act for an organisation, so a grant of either names one."""
    if role in ROLES_WITH_ORG and not org:
        raise Unprocessable(
            f"a {role} acts for an organisation: name it", code="org_required", details={"org": ["required"]}
        )


def new_invitation(invitation_id: str, org: dict, email: str, invited_by: dict, now: datetime) -> dict:
    """An invitation for a colleague to join the organisation, pending until they accept it."""
    return {
        "_id": invitation_id,
        "org_id": org["_id"],
        "org_name": org["name"],
        "email": email.strip().lower(),
        "invited_by": invited_by,
        "status": INVITATION_PENDING,
        "created_at": now,
        "accepted_at": None,
        "accepted_by": None,
    }


def check_can_accept(invitation: dict, email: str, email_verified: bool, role: str | None, org: str | None) -> None:
    """Only the invited address, verified, joins; someone already in another organisation or role cannot."""
    if invitation["status"] != INVITATION_PENDING:
        raise Conflict("this invitation was already accepted", code="invitation_used")
    if not email_verified or email.strip().lower() != invitation["email"]:
        raise Conflict(
            "this invitation was sent to another email address: sign in with that one", code="invitation_not_yours"
        )
    if org and org != invitation["org_id"]:
        raise Conflict("you already belong to another organisation", code="already_in_org")
    if role not in (None, "employer"):
        raise Conflict(f"a {role} account cannot join an organisation as an employer", code="role_conflict")


def accept(invitation: dict, user_id: str, now: datetime) -> dict:
    """The invitation once accepted."""
    return {**invitation, "status": INVITATION_ACCEPTED, "accepted_at": now, "accepted_by": user_id}


def invitation_snapshot(invitation: dict, accept_url: str) -> dict:
    """The invitation as events carry it (shared.events.InvitationData)."""
    return {
        "invitation_id": invitation["_id"],
        "org_id": invitation["org_id"],
        "org_name": invitation["org_name"],
        "email": invitation["email"],
        "invited_by": invitation["invited_by"],
        "accept_url": accept_url,
    }
