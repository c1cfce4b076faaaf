"""Certification rules: revocation, university credit policies and credit decisions (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, Forbidden, NotFound, Unprocessable

DECISIONS = ("accepted", "rejected")
PENDING, VERIFIED = "pending", "verified"
OPEN = "open"
# The revocation reason of a credential replaced by its re-issue (as the status list and the page say).
REISSUED = "re-issued"
# AISHE (All India Survey on Higher Education) codes: U- universities, C- colleges, S- standalone institutions.
AISHE_CODE = r"^[UCS]-[0-9]{1,6}$"
# APAAR / ABC id: the Academic Bank of Credits' 12-digit student id.
APAAR_ID = r"^[0-9]{12}$"
DEFAULT_HOURS_PER_CREDIT = 30.0
# Float credits like 1.5 are compared with a little slack so 45h / 30 = 1.5 is never refused.
EPSILON = 1e-9


class AlreadyRevoked(Conflict):
    """A credential can be revoked once."""

    code = "already_revoked"


class CredentialRevoked(Conflict):
    """No credit is decided on a revoked credential."""

    code = "credential_revoked"


class DecisionExists(Conflict):
    """A university decides once per credential."""

    code = "decision_exists"


class UniversityNotFound(NotFound):
    """No university registered under this id (or it is not public yet)."""

    code = "university_not_found"


class UniversityNotVerified(Conflict):
    """A student asks only a verified university for credit."""

    code = "university_not_verified"


class AisheCodeTaken(Conflict):
    """Two universities never share an AISHE code."""

    code = "aishe_code_taken"


class AisheCodeLocked(Conflict):
    """A verified university's AISHE code is what the admin checked: it does not change afterwards."""

    code = "aishe_code_locked"


class NotYourCredential(Forbidden):
    """A student asks for credit only for their own credentials."""

    code = "not_your_credential"


class CreditRequestExists(Conflict):
    """One request per credential and university."""

    code = "credit_request_exists"


class DecidingNotAllowed(Forbidden):
    """Only a verified university that a student asked about this credential decides credit on it."""


class KeyIsCurrent(Conflict):
    """The key credentials are signed with now cannot be revoked: rotate first."""

    code = "key_is_current"


@dataclass(frozen=True)
class CreditPolicy:
    """How a university turns hours into credits."""

    hours_per_credit: float = DEFAULT_HOURS_PER_CREDIT
    min_hours: float = 0.0

    @classmethod
    def from_record(cls, record: dict | None) -> CreditPolicy:
        """The stored policy, or the default (30 hours per credit, no minimum)."""
        if not record:
            return cls()
        return cls(float(record["hours_per_credit"]), float(record.get("min_hours", 0)))

    def max_credits(self, hours: float) -> float:
        """The most credits this policy allows for `hours`."""
        return hours / self.hours_per_credit


def check_revocable(record: dict) -> None:
    """Raise AlreadyRevoked when the credential is revoked."""
    if record.get("revoked"):
        raise AlreadyRevoked(f"the credential was already revoked: {record.get('revocation_reason', '')}")


def check_credit_decision(policy: CreditPolicy, hours: float, decision: str, credits_awarded: float) -> float:
    """Validate a decision against the policy; return the credits it awards."""
    if decision not in DECISIONS:
        raise Unprocessable(f"decision must be one of {', '.join(DECISIONS)}", code="invalid_decision")
    if credits_awarded < 0:
        raise Unprocessable("credits_awarded cannot be negative", code="negative_credits")
    if decision == "rejected":
        if credits_awarded > 0:
            raise Unprocessable("a rejected credential earns no credits", code="credits_on_rejection")
        return 0.0
    if hours + EPSILON < policy.min_hours:
        raise Unprocessable(
            f"{hours:g} hours is below the policy's minimum of {policy.min_hours:g} hours",
            code="below_min_hours",
            details={"hours": hours, "min_hours": policy.min_hours},
        )
    limit = policy.max_credits(hours)
    if credits_awarded > limit + EPSILON:
        raise Unprocessable(
            f"at most {limit:g} credits for {hours:g} hours at {policy.hours_per_credit:g} hours per credit",
            code="too_many_credits",
            details={"max_credits": limit, "hours": hours, "hours_per_credit": policy.hours_per_credit},
        )
    return float(credits_awarded)


def check_may_decide(university: dict | None, request: dict | None) -> None:
    """Raise DecidingNotAllowed unless a verified university decides against a student's request."""
    if university is None or university.get("status") != VERIFIED:
        raise DecidingNotAllowed(
            "only a verified university decides credit: register (PUT /universities/me) and wait for an admin",
            code="university_not_verified",
        )
    if request is None:
        raise DecidingNotAllowed(
            "no student asked your university for credit for this credential", code="no_credit_request"
        )
    if request.get("status") != OPEN:
        raise DecisionExists("your university already decided on this credit request")


def check_profile_change(university: dict, aishe_code: str) -> None:
    """A verified university keeps the AISHE code the admin verified."""
    if university.get("status") == VERIFIED and university.get("aishe_code") != aishe_code:
        raise AisheCodeLocked(
            "the AISHE code of a verified university cannot change; ask an admin",
            details={"aishe_code": university.get("aishe_code")},
        )


def key_revocation_message(key_id: str, revoked_at, reason: str) -> str:
    """What the issuer_key check says of a credential signed with a revoked key."""
    when = f" on {revoked_at:%Y-%m-%d}" if revoked_at else ""
    because = f" ({reason})" if reason else ""
    return (
        f"{key_id} was revoked{when} as compromised{because}: Stint no longer trusts what it signed; "
        "the holder is sent a credential re-issued under a current key"
    )
