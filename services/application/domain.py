"""Applications and their work: the state machine and the rules of DESIGN §5. No Flask, Mongo or Kafka here."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from shared.errors import Conflict, Unprocessable
from shared.fields import day_in_india

APPLIED = "applied"
SHORTLISTED = "shortlisted"
ACCEPTED = "accepted"
SUBMITTED = "submitted"
CHANGES_REQUESTED = "changes_requested"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

STATUSES = (APPLIED, SHORTLISTED, ACCEPTED, SUBMITTED, CHANGES_REQUESTED, APPROVED, REJECTED, WITHDRAWN)
# Open applications count against a student's limit (a brake on mass applying).
OPEN_STATUSES = (APPLIED, SHORTLISTED, ACCEPTED, SUBMITTED, CHANGES_REQUESTED)
# An application in one of these has taken one of the listing's seats (and rejected work keeps it: see keeps_seat).
SEAT_HOLDING_STATUSES = (ACCEPTED, SUBMITTED, CHANGES_REQUESTED, APPROVED)

# action -> (the statuses it may start from, the status it leads to), following DESIGN §5.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "shortlist": (frozenset({APPLIED}), SHORTLISTED),
    "accept": (frozenset({APPLIED, SHORTLISTED}), ACCEPTED),
    "reject": (frozenset({APPLIED, SHORTLISTED, ACCEPTED}), REJECTED),
    "withdraw": (frozenset({APPLIED, SHORTLISTED, ACCEPTED}), WITHDRAWN),
    "submit_work": (frozenset({ACCEPTED, CHANGES_REQUESTED}), SUBMITTED),
    "approve": (frozenset({SUBMITTED}), APPROVED),
    "request_changes": (frozenset({SUBMITTED}), CHANGES_REQUESTED),
    "reject_work": (frozenset({SUBMITTED}), REJECTED),
}
REVIEW_ACTIONS = {"approve": "approve", "request_changes": "request_changes", "reject": "reject_work"}

# Work may claim up to twice the listing's planned effort: overruns happen, tenfold ones are typos.
HOURS_SPENT_FACTOR = 2
# What the event catalog (shared.events.Person) accepts for a person.
MAX_PERSON_ID, MAX_NAME, MAX_EMAIL = 200, 200, 320
# Taking a place and writing the application take milliseconds; a place held far longer without it was abandoned.
UNFINISHED_CHANGE = timedelta(minutes=2)
DEFAULT_MAX_OPEN_APPLICATIONS = 10
DEFAULT_MAX_CHANGE_ROUNDS = 3


@dataclass(frozen=True)
class Actor:
    """The signed-in person acting on an application."""

    id: str
    role: str
    org: str | None = None
    name: str = ""
    email: str = ""

    def as_person(self) -> dict:
        """The {id, name, email} shape events carry (names and emails cut to what the event catalog allows)."""
        return {"id": self.id, "name": self.name[:MAX_NAME], "email": self.email[:MAX_EMAIL]}


@dataclass(frozen=True)
class Limits:
    """The platform's brakes, from settings."""

    max_open_applications: int = DEFAULT_MAX_OPEN_APPLICATIONS
    max_change_rounds: int = DEFAULT_MAX_CHANGE_ROUNDS

    @classmethod
    def from_extra(cls, extra: Mapping[str, str]) -> Limits:
        """Read STINT_MAX_OPEN_APPLICATIONS and STINT_MAX_CHANGE_ROUNDS; ValueError when not positive integers."""
        limits = cls(
            max_open_applications=int(extra.get("STINT_MAX_OPEN_APPLICATIONS", DEFAULT_MAX_OPEN_APPLICATIONS)),
            max_change_rounds=int(extra.get("STINT_MAX_CHANGE_ROUNDS", DEFAULT_MAX_CHANGE_ROUNDS)),
        )
        if limits.max_open_applications < 1 or limits.max_change_rounds < 0:
            raise ValueError("STINT_MAX_OPEN_APPLICATIONS must be >= 1 and STINT_MAX_CHANGE_ROUNDS >= 0")
        return limits


class IllegalTransition(Conflict):
    """The application's current status does not allow the action."""

    code = "illegal_transition"


def next_status(action: str, current: str) -> str:
    """The status `action` leads to from `current`; IllegalTransition when §5 does not allow it."""
    allowed_from, target = TRANSITIONS[action]
    if current not in allowed_from:
        verb = action.replace("_", " ")
        raise IllegalTransition(
            f"cannot {verb} an application that is {current.replace('_', ' ')}",
            details={"action": action, "status": current, "allowed_from": sorted(allowed_from)},
        )
    return target


def keeps_seat(status: str, has_work: bool) -> bool:
    """Whether an application occupies a seat: from acceptance on, and still once its submitted work is rejected."""
    return status in SEAT_HOLDING_STATUSES or (status == REJECTED and has_work)


def seat_left_behind(status: str | None, has_work: bool, held_for: timedelta) -> bool:
    """True for a seat no one should hold any more (a crash skipped its release)."""
    if status is not None and keeps_seat(status, has_work):
        return False
    # An accept takes the seat first and moves the application right after; long after, it has died.
    return status not in TRANSITIONS["accept"][0] or held_for > UNFINISHED_CHANGE


# ---- applying ------------------------------------------------------------------------------


def check_listing_open(status: str, apply_by: datetime, now: datetime) -> None:
    """Applications go only to a published listing before its deadline."""
    if status != "published":
        raise Conflict(f"the listing is {status}, not open for applications", code="listing_not_open")
    if now >= apply_by:
        raise Conflict(
            "the listing's application deadline has passed",
            code="application_deadline_passed",
            details={"apply_by": apply_by.isoformat()},
        )


def check_answers(questions: Sequence[str], answers: Sequence[str]) -> list[dict]:
    """Pair each screening question with its answer; Unprocessable when they do not match one for one."""
    if len(answers) != len(questions):
        raise Unprocessable(
            f"the listing asks {len(questions)} screening question(s); {len(answers)} answer(s) were given",
            code="answers_mismatch",
            details={"questions": list(questions), "answers_expected": len(questions), "answers_given": len(answers)},
        )
    blank = [index for index, answer in enumerate(answers) if not answer.strip()]
    if blank:
        raise Unprocessable(
            "every screening question needs an answer", code="answer_empty", details={"blank_answers": blank}
        )
    return [{"question": q, "answer": a.strip()} for q, a in zip(questions, answers, strict=True)]


def check_highlighted_credentials(requested: Sequence[str], known: Mapping[str, Mapping], student_id: str) -> list:
    """The credentials a student highlights: each must be their own and not revoked. Returns them, without repeats."""
    not_theirs = [cid for cid in requested if (known.get(cid) or {}).get("student_id") != student_id]
    if not_theirs:
        raise Unprocessable(
            "highlight only your own Stint credentials: "
            + ", ".join(not_theirs)
            + (" is" if len(not_theirs) == 1 else " are")
            + " not among them",
            code="credential_not_yours",
            details={"credential_ids": not_theirs},
        )
    replaced = {cid: known[cid]["replaced_by"] for cid in requested if known[cid].get("replaced_by")}
    if replaced:
        raise Unprocessable(
            "a credential re-issued under a new key no longer verifies; highlight its successor: "
            + ", ".join(f"{old} → {new}" for old, new in replaced.items()),
            code="credential_replaced",
            details={"credential_ids": list(replaced), "replaced_by": list(replaced.values())},
        )
    revoked = [cid for cid in requested if known[cid].get("revoked")]
    if revoked:
        raise Unprocessable(
            "a revoked credential cannot be highlighted: " + ", ".join(revoked),
            code="credential_revoked",
            details={"credential_ids": revoked},
        )
    return [
        {
            "credential_id": cid,
            "listing_title": known[cid].get("listing_title", ""),
            "verification_url": known[cid]["verification_url"],
        }
        for cid in dict.fromkeys(requested)
    ]


def credential_verified(highlight: Mapping, known: Mapping | None, student_id: str) -> bool:
    """A highlighted credential reads as verified while it is the student's and not revoked."""
    return bool(known) and known.get("student_id") == student_id and not known.get("revoked")


# Names an application after its listing and student (uuid5), so the one a student made for a listing is found by `_id`.
APPLICATION_IDS = uuid.UUID("5b0f6a52-3c1e-4f7a-9d8e-2a6c1e9b7d34")


def application_id_for(listing_id: str, student_id: str) -> str:
    """The id of the one application a student may make for a listing (a name-based UUID of the pair): a second
    apply is refused by `_id` and found by it, a read FerretDB answers from its index, where looking for the pair
    reads every application. Applications stored before ids were named so keep their random ids."""
    return str(uuid.uuid5(APPLICATION_IDS, f"{listing_id}\n{student_id}"))


def new_application(
    application_id: str,
    listing: Mapping,
    actor: Actor,
    cover_note: str,
    answers: list[dict],
    now: datetime,
    highlighted_credentials: list[dict] | None = None,
) -> dict:
    """A student's new application to `listing`, `applied`, with the first line of its history."""
    return {
        "_id": application_id,
        "listing_id": listing["_id"],
        "listing_title": listing["title"],
        "org_id": listing["org_id"],
        "student_id": actor.id,
        "student": actor.as_person(),
        "cover_note": cover_note,
        "answers": answers,
        "highlighted_credentials": highlighted_credentials or [],
        "status": APPLIED,
        "history": [history_entry(APPLIED, None, actor, now)],
        "submissions": [],
        "reviews": [],
        "latest_review": None,
        "change_rounds": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def too_many_open_applications(limits: Limits) -> Conflict:
    """The error for an application beyond the student's limit of open ones."""
    return Conflict(
        f"you already have {limits.max_open_applications} open applications, the most allowed at once",
        code="too_many_open_applications",
        details={"limit": limits.max_open_applications},
    )


def no_seats_left(seats: int) -> Conflict:
    """The error for an accept that finds every seat taken."""
    return Conflict(f"all {seats} seat(s) of this listing are taken", code="no_seats_left", details={"seats": seats})


# ---- work ----------------------------------------------------------------------------------


def check_hours_spent(hours_spent: float, effort_hours: float) -> None:
    """Hours claimed for a submission lie between 0 and twice the listing's planned effort."""
    bound = effort_hours * HOURS_SPENT_FACTOR
    if not 0 <= hours_spent <= bound:
        raise Unprocessable(
            f"hours_spent must be between 0 and {bound:g} (twice the listing's {effort_hours:g} planned hours)",
            code="hours_spent_out_of_range",
            details={"hours_spent": hours_spent, "max": bound},
        )


def canonical_json(value) -> bytes:
    """RFC 8785-style canonical JSON: sorted keys, no spaces, UTF-8, whole numbers without a fraction."""
    return json.dumps(_canonical_numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _canonical_numbers(value):
    """12.0 and 12 are one number; write it the way JSON.stringify would ("12")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(item) for item in value]
    return value


def submission_digest(links: Sequence[str], notes: str, hours_spent: float, round_number: int) -> str:
    """SHA-256 (hex) of the canonical JSON of {hours_spent, links, notes, round}: anyone can recompute it."""
    payload = {"links": list(links), "notes": notes, "hours_spent": hours_spent, "round": round_number}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def check_review(
    decision: str,
    *,
    rating: int | None,
    hours_verified: float | None,
    feedback: str,
    effort_hours: float,
    change_rounds: int,
    limits: Limits,
) -> None:
    """An approval needs a rating and verified hours within the listing's effort; change rounds are limited."""
    if decision == "approve":
        missing = [name for name, value in (("rating", rating), ("hours_verified", hours_verified)) if value is None]
        if missing:
            raise Unprocessable(
                "an approval needs a rating (1-5) and the hours verified",
                code="approval_incomplete",
                details={name: ["required to approve"] for name in missing},
            )
        if not 0 < hours_verified <= effort_hours:
            raise Unprocessable(
                f"hours_verified must be more than 0 and at most the listing's {effort_hours:g} effort hours",
                code="hours_verified_out_of_range",
                details={"hours_verified": hours_verified, "max": effort_hours},
            )
    if decision == "request_changes":
        if not feedback.strip():
            raise Unprocessable("say what to change: feedback is required", code="feedback_required")
        if change_rounds >= limits.max_change_rounds:
            raise Conflict(
                f"changes were already requested {change_rounds} time(s), the most allowed; approve or reject",
                code="change_rounds_exhausted",
                details={"change_rounds": change_rounds, "limit": limits.max_change_rounds},
            )


# ---- who sees what -------------------------------------------------------------------------


def can_see(actor: Actor, student_id: str, org_id: str) -> bool:
    """A student sees their own applications; an employer those to their organisation's listings."""
    if actor.role == "student":
        return actor.id == student_id
    if actor.role == "employer":
        return bool(actor.org) and actor.org == org_id
    return False


def history_entry(status: str, previous: str | None, actor: Actor, at: datetime, note: str = "") -> dict:
    """One line of an application's history: what it became, from what, who did it and when."""
    entry = {"status": status, "previous_status": previous, "by": {"id": actor.id, "role": actor.role}, "at": at}
    if note:
        entry["note"] = note
    return entry


# ---- payments ------------------------------------------------------------------------------

PAYMENT_RECORDED, PAYMENT_CONFIRMED, PAYMENT_DISPUTED = "recorded", "confirmed", "disputed"
PAYMENT_STATUSES = (PAYMENT_RECORDED, PAYMENT_CONFIRMED, PAYMENT_DISPUTED)


def recorded_payment(app: Mapping, paid: Mapping, actor: Actor, now: datetime) -> dict:
    """The payment as the employer records it after approval; a correction replaces it until the student confirms.

    `paid` holds amount (Decimal), currency, paid_on (aware datetime) and reference.
    """
    if app["status"] != APPROVED:
        raise Conflict(
            "record the stipend's payment once the work is approved",
            code="payment_before_approval",
            details={"status": app["status"]},
        )
    current = app.get("payment") or {}
    if current.get("status") == PAYMENT_CONFIRMED:
        raise Conflict("the student already confirmed this payment", code="payment_already_confirmed")
    check_paid_on(paid["paid_on"], app["created_at"], now)
    return {
        "status": PAYMENT_RECORDED,
        "amount": str(Decimal(paid["amount"]).quantize(Decimal("0.01"))),
        "currency": paid["currency"],
        "paid_on": paid["paid_on"],
        "reference": paid["reference"],
        "recorded_by": actor.as_person(),
        "recorded_at": now,
        "corrections": current.get("corrections", -1) + 1,
        "confirmed_at": None,
        "dispute": None,
    }


def check_paid_on(paid_on: datetime, applied_at: datetime, now: datetime) -> None:
    """A payment is dated on a day that has begun (in India) and not before the student applied."""
    if day_in_india(paid_on) > day_in_india(now):
        raise Unprocessable(
            "paid_on is in the future: record a payment once it is made",
            code="paid_on_in_future",
            details={"paid_on": [f"must be on or before {day_in_india(now).isoformat()}"]},
        )
    if day_in_india(paid_on) < day_in_india(applied_at):
        raise Unprocessable(
            "paid_on is before the student even applied",
            code="paid_on_before_application",
            details={"paid_on": [f"must be on or after {day_in_india(applied_at).isoformat()}"]},
        )


def confirmed_payment(app: Mapping, now: datetime) -> dict:
    """The payment once the student confirms receiving it (this also settles a dispute they raised)."""
    payment = _payment_to_answer(app)
    if payment["status"] == PAYMENT_CONFIRMED:
        raise Conflict("you already confirmed this payment", code="payment_already_confirmed")
    return {**payment, "status": PAYMENT_CONFIRMED, "confirmed_at": now}


def disputed_payment(app: Mapping, reason: str, now: datetime) -> dict:
    """The payment once the student disputes it; only a recorded, unanswered payment can be disputed."""
    payment = _payment_to_answer(app)
    if payment["status"] != PAYMENT_RECORDED:
        raise Conflict(
            f"this payment is already {payment['status']}",
            code=f"payment_already_{payment['status']}",
            details={"payment_status": payment["status"]},
        )
    return {**payment, "status": PAYMENT_DISPUTED, "dispute": {"reason": reason, "raised_at": now}}


def _payment_to_answer(app: Mapping) -> dict:
    payment = app.get("payment")
    if not payment:
        raise Conflict("the employer has not recorded a payment yet", code="payment_not_recorded")
    return dict(payment)


def payment_history_entry(payment: Mapping, actor: Actor, at: datetime) -> dict:
    """One line of an application's payment history: what the payment became, who did it and when."""
    entry = {"status": payment["status"], "by": {"id": actor.id, "role": actor.role}, "at": at}
    if payment["status"] == PAYMENT_RECORDED:
        entry.update(amount=payment["amount"], currency=payment["currency"], reference=payment["reference"])
    if payment["status"] == PAYMENT_DISPUTED:
        entry["reason"] = payment["dispute"]["reason"]
    return entry
