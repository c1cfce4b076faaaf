"""Organisations and listings: their states, rules and event snapshots. Pure Python, no I/O."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

from shared.errors import Conflict, Unprocessable

DRAFT, PUBLISHED, CLOSED = "draft", "published", "closed"
PENDING, VERIFIED = "pending", "verified"
EDITABLE = (DRAFT, PUBLISHED)

CLOSED_BY_OWNER, CLOSED_AT_DEADLINE, CLOSED_SEATS_FILLED = "closed_by_owner", "deadline", "seats_filled"

# Limits a sensible brief stays within (the HTTP schemas enforce the same numbers).
MAX_DURATION_DAYS = 28
MAX_EFFORT_HOURS = 160
MAX_HOURS_PER_DAY = 12  # a one-day stint cannot honestly ask for a week of work
MAX_SEATS = 50
MAX_OPEN_DAYS = 365  # apply_by further out than this is almost certainly a typo
MAX_QUERY_TERMS = 10

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


def new_listing(listing_id: str, fields: dict, org: dict, author: str, now: datetime) -> dict:
    """A draft listing of `org`, checked against the rules."""
    check_apply_by(fields["apply_by"], now)
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


def edit(listing: dict, changes: dict, now: datetime) -> dict | None:
    """The fields to set for an owner's edit; None when nothing differs. Closed listings cannot change."""
    if listing["status"] not in EDITABLE:
        raise Conflict("a closed listing cannot be edited", code="listing_closed")
    changes = {k: v for k, v in normalised(changes).items() if k in AUTHORED_FIELDS and listing.get(k) != v}
    if not changes:
        return None
    merged = {**listing, **changes}
    if "apply_by" in changes:
        check_apply_by(changes["apply_by"], now)
    check_effort(merged["effort_hours"], merged["duration_days"])
    if merged["seats"] <= merged["seats_filled"] and listing["status"] == PUBLISHED:
        raise Conflict(
            f"{merged['seats_filled']} seats are already filled; seats must stay above that",
            code="seats_below_filled",
            details={"seats_filled": merged["seats_filled"]},
        )
    return {**changes, **derived_fields(merged), **_touched(listing, now)}


def publish(listing: dict, org: dict, now: datetime) -> dict | None:
    """The fields to set to publish a draft; None when it is already published.

    The organisation must be verified and the deadline ahead.
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
        "status": listing["status"],
        "version": listing["version"],
        "published_at": listing["published_at"],
        "closed_reason": listing["closed_reason"],
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
