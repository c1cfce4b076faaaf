"""Certification rules: revocation, university credit policies and credit decisions (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, Unprocessable

DECISIONS = ("accepted", "rejected")
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
