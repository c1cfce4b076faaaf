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


def test_only_a_verified_university_with_an_open_request_decides():
    from services.certification.domain import DecidingNotAllowed, DecisionExists, check_may_decide

    verified, request = {"status": "verified"}, {"status": "open"}
    check_may_decide(verified, request)
    for university, asked, code in [
        (None, request, "university_not_verified"),
        ({"status": "pending"}, request, "university_not_verified"),
        (verified, None, "no_credit_request"),
    ]:
        with pytest.raises(DecidingNotAllowed) as refused:
            check_may_decide(university, asked)
        assert refused.value.code == code and refused.value.status == 403
    with pytest.raises(DecisionExists):
        check_may_decide(verified, {"status": "accepted"})


def test_a_verified_university_keeps_its_aishe_code():
    from services.certification.domain import AisheCodeLocked, check_profile_change

    check_profile_change({"status": "pending", "aishe_code": "U-0001"}, "U-0002")
    check_profile_change({"status": "verified", "aishe_code": "U-0001"}, "U-0001")
    with pytest.raises(AisheCodeLocked):
        check_profile_change({"status": "verified", "aishe_code": "U-0001"}, "U-0002")
