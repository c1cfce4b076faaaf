"""Who may become what: the rules for roles, organisations and invitations."""

from datetime import UTC, datetime

import pytest

from services.listing import domain
from shared.errors import Conflict, Unprocessable

NOW = datetime(2026, 11, 30, tzinfo=UTC)
ORG = {"_id": "acme-labs-3f9a1c", "name": "Acme Labs"}
MEERA = {"id": "u-meera", "name": "Meera", "email": "meera@acme.example"}


@pytest.mark.parametrize("role", ["student", "employer"])
def test_a_new_account_chooses_student_or_employer(role):
    domain.check_chosen_role(None, role)


@pytest.mark.parametrize("role", ["university", "admin"])
def test_nobody_gives_themselves_university_or_admin(role):
    with pytest.raises(Unprocessable) as caught:
        domain.check_chosen_role(None, role)
    assert caught.value.details == {"role": ["choose student or employer"]}


def test_a_role_is_chosen_once():
    with pytest.raises(Conflict, match="already a student"):
        domain.check_chosen_role("student", "employer")


def test_a_university_grant_names_the_university():
    with pytest.raises(Unprocessable, match="organisation"):
        domain.check_granted_role("university", None)
    domain.check_granted_role("university", "iit-madras")
    domain.check_granted_role("admin", None)


def test_an_organisation_id_reads_like_its_name():
    assert domain.new_org_id("Acme Labs (Pune)", "3f9a1c") == "acme-labs-pune-3f9a1c"
    assert domain.new_org_id("!!!", "3f9a1c") == "org-3f9a1c"


def invitation(email="Ravi@Acme.example"):
    return domain.new_invitation("inv-1", ORG, email, MEERA, NOW)


def test_the_invited_verified_address_joins():
    domain.check_can_accept(invitation(), "ravi@acme.example", True, None, None)
    accepted = domain.accept(invitation(), "u-ravi", NOW)
    assert (accepted["status"], accepted["accepted_by"]) == ("accepted", "u-ravi")


@pytest.mark.parametrize(
    ("email", "verified", "role", "org", "code"),
    [
        ("someone@else.example", True, None, None, "invitation_not_yours"),
        ("ravi@acme.example", False, None, None, "invitation_not_yours"),
        ("ravi@acme.example", True, "employer", "other-org-1a2b3c", "already_in_org"),
        ("ravi@acme.example", True, "student", None, "role_conflict"),
    ],
)
def test_an_invitation_is_refused_to_anyone_else(email, verified, role, org, code):
    with pytest.raises(Conflict) as caught:
        domain.check_can_accept(invitation(), email, verified, role, org)
    assert caught.value.code == code


def test_an_invitation_is_used_once():
    with pytest.raises(Conflict, match="already accepted"):
        domain.check_can_accept(domain.accept(invitation(), "u-ravi", NOW), "ravi@acme.example", True, None, None)
