"""University credit rules."""

from __future__ import annotations

import pytest

from services.certification.domain import AlreadyRevoked, CreditPolicy, check_credit_decision, check_revocable
from shared.errors import Unprocessable


def test_the_default_policy_is_thirty_hours_per_credit_without_minimum():
    assert CreditPolicy.from_record(None) == CreditPolicy(30.0, 0.0)


def test_accepting_up_to_hours_over_hours_per_credit_is_allowed():
    assert check_credit_decision(CreditPolicy(30, 0), 45, "accepted", 1.5) == 1.5
    assert check_credit_decision(CreditPolicy(20, 0), 45, "accepted", 2.25) == 2.25


def test_accepting_more_credits_than_the_policy_allows_is_refused():
    with pytest.raises(Unprocessable) as error:
        check_credit_decision(CreditPolicy(30, 0), 45, "accepted", 2)
    assert error.value.code == "too_many_credits"


def test_hours_below_the_policy_minimum_cannot_be_accepted():
    with pytest.raises(Unprocessable) as error:
        check_credit_decision(CreditPolicy(30, 60), 45, "accepted", 1)
    assert error.value.code == "below_min_hours"


def test_a_rejection_awards_no_credits():
    assert check_credit_decision(CreditPolicy(), 45, "rejected", 0) == 0
    with pytest.raises(Unprocessable):
        check_credit_decision(CreditPolicy(), 45, "rejected", 1)


def test_a_revoked_credential_cannot_be_revoked_again():
    check_revocable({"revoked": False})
    with pytest.raises(AlreadyRevoked):
        check_revocable({"revoked": True, "revocation_reason": "fraud"})
