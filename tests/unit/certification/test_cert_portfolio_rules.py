"""Portfolio rules: what a handle may be, which credentials a student may show, and what anyone sees."""

from datetime import UTC, datetime

import pytest

from services.certification.portfolio_rules import (
    CredentialNotYours,
    CredentialReplaced,
    CredentialRevoked,
    HandleNotAllowed,
    check_shown_credentials,
    handle_key,
    public_portfolio,
)


def credential(uuid: str, student: str = "s-1", **fields) -> dict:
    """A stored credential record (as the certification service keeps it, email included)."""
    return {
        "_id": uuid,
        "credential_id": f"urn:uuid:{uuid}",
        "student": {"id": student, "name": "Asha Rao", "email": "asha@example.org"},
        "listing_title": f"Work {uuid}",
        "org_name": "Acme",
        "issued_at": datetime(2026, 11, 30, tzinfo=UTC),
        "verification_url": f"https://stint.example/verify/{uuid}",
        **fields,
    }


@pytest.mark.parametrize("handle", ["asha", "Asha-Rao", "a1b", "x" * 30, "  asha-rao "])
def test_a_handle_of_letters_digits_and_single_hyphens_is_kept_in_lower_case(handle):
    assert handle_key(handle) == handle.strip().lower()


@pytest.mark.parametrize(
    "handle", ["ab", "x" * 31, "asha rao", "asha_rao", "-asha", "asha-", "asha--rao", "आशा", "asha.rao", "Admin", "me"]
)
def test_a_handle_that_is_short_long_odd_or_reserved_is_refused(handle):
    with pytest.raises(HandleNotAllowed) as refused:
        handle_key(handle)
    assert refused.value.status == 422 and refused.value.details == {"handle": handle}


def test_a_student_shows_only_their_own_credentials_in_their_order_without_repeats():
    known = {"urn:uuid:b": credential("b"), "a": credential("a"), "urn:uuid:a": credential("a")}

    assert check_shown_credentials(["urn:uuid:b", "a", "urn:uuid:a"], known, "s-1") == ["b", "a"]


def test_someone_elses_unknown_revoked_or_replaced_credential_is_refused_by_name():
    known = {"theirs": credential("t", student="s-2"), "nothing": None}
    with pytest.raises(CredentialNotYours) as refused:
        check_shown_credentials(["theirs", "nothing"], known, "s-1")
    assert refused.value.details == {"credential_ids": ["theirs", "nothing"]}
    with pytest.raises(CredentialRevoked):
        check_shown_credentials(["r"], {"r": credential("r", revoked=True)}, "s-1")
    with pytest.raises(CredentialReplaced) as replaced:
        check_shown_credentials(["o"], {"o": credential("o", superseded_by="n")}, "s-1")
    assert replaced.value.details["replaced_by"] == ["urn:uuid:n"]


def test_the_public_page_drops_revoked_credentials_shows_successors_and_never_the_email():
    portfolio = {
        "_id": "s-1",
        "handle": "Asha-Rao",
        "name": "Asha Rao",
        "headline": "Analyst",
        "credential_ids": ["kept", "revoked", "old", "someone-elses"],
        "work_samples": [{"title": "Notebook", "url": "https://github.com/asha/nb", "description": ""}],
    }
    records = {
        "kept": credential("kept"),
        "revoked": credential("revoked", revoked=True),
        "old": credential("old", superseded_by="new", revoked=True),
        "new": credential("new"),
        "someone-elses": credential("someone-elses", student="s-2"),
    }

    shown = public_portfolio(portfolio, records, "https://stint.example/portfolios/Asha-Rao", lambda r: "li")

    assert [c["id"] for c in shown["credentials"]] == ["urn:uuid:kept", "urn:uuid:new"]
    assert shown["credentials"][0]["linkedin_url"] == "li" and shown["work_samples"] == portfolio["work_samples"]
    assert "asha@example.org" not in repr(shown) and "email" not in repr(shown)
