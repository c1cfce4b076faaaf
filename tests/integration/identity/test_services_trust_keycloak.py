"""The services trust Keycloak's tokens and nothing else, and a person onboards through them: a new account chooses
student or employer, an employer registers their organisation and invites a colleague, an admin grants a university.

Every token here comes from the real Keycloak through its sign-in pages (code + PKCE); every role and org change is
written to the real account by the listing service's narrowly scoped service account.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace

import jwt
import pytest
import requests

from services.application.app import create_app as create_application_app
from services.listing.app import create_app as create_listing_app
from shared.auth import JWKS_REFRESH_COOLDOWN_SECONDS, mint_token
from tests.conftest import TEST_SECRET, auth_header
from tests.support.apps import service_app
from tests.support.keycloak import (
    account_console_token,
    create_user,
    open_verification_link,
    register,
    sign_in,
    unique_email,
    verification_link,
)
from tests.support.pipeline import create_topics
from tests.support.samples import listing_body

PASSWORD = "correct-horse-battery-9"
PROFILE = {"name": "Acme Labs", "website": "https://acme.example", "registration_id": "U72200KA2020PTC1"}


def settings_trusting(settings_for, keycloak, service: str, **overrides):
    """A service's settings that trust this Keycloak (and, outside production, `make token`'s secret)."""
    extra = keycloak.env()
    return settings_for(
        service,
        auth_jwks_url=keycloak.jwks_url,
        auth_issuer=keycloak.issuer,
        auth_audience=keycloak.audience,
        extra=extra,
        **overrides,
    )


@pytest.fixture
def listing(settings_for, keycloak):
    settings = settings_trusting(settings_for, keycloak, "listing")
    create_topics(settings)
    with service_app(create_listing_app, settings) as app:
        yield app.test_client()


@pytest.fixture
def application(settings_for, keycloak):
    with service_app(create_application_app, settings_trusting(settings_for, keycloak, "application")) as app:
        yield app.test_client()


def person(keycloak, role=None, org=None) -> tuple[str, str]:
    """A verified account (with `role`/`org` set as an admin would); its email and user id."""
    email = unique_email(role or "newcomer")
    return email, create_user(keycloak, email, PASSWORD, role=role, org=org)


def access_token(keycloak, email: str) -> str:
    return sign_in(keycloak, email, PASSWORD)["access_token"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


# ---- onboarding ----------------------------------------------------------------------------------------------


def test_a_person_signs_up_confirms_the_email_chooses_student_and_calls_the_api(keycloak, mail, listing, application):
    email = unique_email("asha")
    assert "verify your email" in register(keycloak, email, PASSWORD, "Asha", "Rao").text
    open_verification_link(keycloak, verification_link(mail, email))
    first = auth_header(access_token(keycloak, email))
    assert listing.get("/accounts/me", headers=first).get_json() | {"id": None} == {
        "id": None,
        "email": email,
        "name": "Asha Rao",
        "role": None,
        "org": None,
    }
    assert listing.put("/accounts/me/role", headers=first, json={"role": "student"}).status_code == 200
    student = auth_header(access_token(keycloak, email))
    mine = application.get("/applications", headers=student)
    assert (mine.status_code, mine.get_json()["items"]) == (200, [])


def test_a_new_account_chooses_student_and_its_next_token_is_accepted_as_a_student(keycloak, listing, application):
    email, user_id = person(keycloak)
    first = access_token(keycloak, email)
    assert listing.get("/accounts/me", headers=auth_header(first)).get_json()["role"] is None
    assert error_code(application.get("/applications", headers=auth_header(first))) == "role_missing"

    chosen = listing.put("/accounts/me/role", headers=auth_header(first), json={"role": "student"})
    assert chosen.status_code == 200, chosen.get_json()
    assert (chosen.get_json()["id"], chosen.get_json()["role"]) == (user_id, "student")

    second = access_token(keycloak, email)
    assert claims_of(second)["role"] == "student"
    assert application.get("/applications", headers=auth_header(second)).status_code == 200


@pytest.mark.parametrize("role", ["admin", "university"])
def test_nobody_makes_themselves_admin_or_university(keycloak, listing, role):
    email, _ = person(keycloak)
    bearer = auth_header(access_token(keycloak, email))
    refused = listing.put("/accounts/me/role", headers=bearer, json={"role": role})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"] == {"role": ["choose student or employer"]}
    assert listing.get("/accounts/me", headers=bearer).get_json()["role"] is None
    assert "role" not in claims_of(access_token(keycloak, email))


def test_a_role_once_chosen_cannot_be_switched_by_its_owner(keycloak, listing):
    email, _ = person(keycloak, role="student")
    refused = listing.put(
        "/accounts/me/role", headers=auth_header(access_token(keycloak, email)), json={"role": "employer"}
    )
    assert (refused.status_code, error_code(refused)) == (409, "role_already_chosen")
    assert claims_of(access_token(keycloak, email))["role"] == "student"


# ---- organisations and colleagues ------------------------------------------------------------------------------


def test_an_employer_registers_an_organisation_and_posts_as_it_after_refreshing(keycloak, listing):
    email, _ = person(keycloak)
    bearer = auth_header(access_token(keycloak, email))
    listing.put("/accounts/me/role", headers=bearer, json={"role": "employer"})
    employer = auth_header(access_token(keycloak, email))
    assert error_code(listing.post("/listings", headers=employer, json=listing_body())) == "org_missing"

    org = listing.put("/orgs/me", headers=employer, json=PROFILE)
    assert org.status_code == 200, org.get_json()
    org_id = org.get_json()["id"]
    assert org_id.startswith("acme-labs-") and org.get_json()["status"] == "pending"

    refreshed = access_token(keycloak, email)
    assert claims_of(refreshed)["org"] == org_id
    draft = listing.post("/listings", headers=auth_header(refreshed), json=listing_body())
    assert draft.status_code == 201 and draft.get_json()["org_id"] == org_id
    again = listing.put("/orgs/me", headers=auth_header(refreshed), json=PROFILE | {"name": "Acme Labs India"})
    assert again.get_json()["id"] == org_id  # an update, not a second organisation


def test_an_invited_colleague_joins_the_same_organisation(keycloak, listing, mail):
    owner_email, _ = person(keycloak, role="employer")
    owner = auth_header(access_token(keycloak, owner_email))
    org_id = listing.put("/orgs/me", headers=owner, json=PROFILE).get_json()["id"]
    owner = auth_header(access_token(keycloak, owner_email))

    colleague_email, _ = person(keycloak)
    invitation = listing.post("/orgs/me/invitations", headers=owner, json={"email": colleague_email.upper()})
    assert invitation.status_code == 201, invitation.get_json()
    invitation_id = invitation.get_json()["id"]
    assert invitation.get_json()["email"] == colleague_email
    sent = listing.get("/orgs/me/invitations", headers=owner).get_json()["items"]
    assert [i["id"] for i in sent] == [invitation_id]

    stranger_email, _ = person(keycloak)
    stranger = listing.post(
        f"/invitations/{invitation_id}/accept", headers=auth_header(access_token(keycloak, stranger_email))
    )
    assert (stranger.status_code, error_code(stranger)) == (409, "invitation_not_yours")

    accepted = listing.post(
        f"/invitations/{invitation_id}/accept", headers=auth_header(access_token(keycloak, colleague_email))
    )
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    colleague = claims_of(access_token(keycloak, colleague_email))
    assert (colleague["role"], colleague["org"]) == ("employer", org_id)
    again = listing.post(
        f"/invitations/{invitation_id}/accept", headers=auth_header(access_token(keycloak, colleague_email))
    )
    assert (again.status_code, error_code(again)) == (409, "invitation_used")


def test_an_admin_grants_a_registrar_the_university_role(keycloak, listing):
    admin_email, _ = person(keycloak, role="admin")
    registrar_email, registrar_id = person(keycloak)
    admin = auth_header(access_token(keycloak, admin_email))
    unnamed = listing.put(f"/accounts/{registrar_id}/role", headers=admin, json={"role": "university"})
    assert (unnamed.status_code, error_code(unnamed)) == (422, "org_required")
    granted = listing.put(f"/accounts/{registrar_id}/role", headers=admin, json={"role": "university", "org": "iit-m"})
    assert granted.status_code == 200, granted.get_json()
    registrar = claims_of(access_token(keycloak, registrar_email))
    assert (registrar["role"], registrar["org"]) == ("university", "iit-m")

    student_email, _ = person(keycloak, role="student")
    student = auth_header(access_token(keycloak, student_email))
    refused = listing.put(f"/accounts/{registrar_id}/role", headers=student, json={"role": "admin"})
    assert (refused.status_code, error_code(refused)) == (403, "wrong_role")


def test_the_admins_queue_lists_organisations_waiting_for_verification(keycloak, listing):
    owner_email, _ = person(keycloak, role="employer")
    org_id = listing.put("/orgs/me", headers=auth_header(access_token(keycloak, owner_email)), json=PROFILE).get_json()[
        "id"
    ]
    admin_email, _ = person(keycloak, role="admin")
    admin = auth_header(access_token(keycloak, admin_email))
    pending = listing.get("/orgs?status=pending", headers=admin).get_json()["items"]
    assert org_id in [org["id"] for org in pending]
    listing.post(f"/orgs/{org_id}/verify", headers=admin)
    assert org_id not in [org["id"] for org in listing.get("/orgs?status=pending", headers=admin).get_json()["items"]]


# ---- tokens the services refuse ------------------------------------------------------------------------------


def _refused(client, token: str) -> tuple[int, str]:
    response = client.get("/applications", headers=auth_header(token))
    body = response.get_json()
    assert set(body["error"]) == {"code", "message", "details"}
    return response.status_code, body["error"]["message"]


def test_a_token_from_another_realm_is_refused(keycloak, application):
    response = requests.post(
        f"{keycloak.url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": keycloak.admin.password,
        },
        timeout=30,
    )
    status, message = _refused(application, response.json()["access_token"])
    assert status == 401 and ("not valid" in message or "another identity provider" in message)


def test_a_tampered_token_is_refused(keycloak, application):
    email, _ = person(keycloak, role="student")
    header, body, signature = access_token(keycloak, email).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps(claims | {"role": "admin"}).encode()).decode().rstrip("=")
    assert _refused(application, f"{header}.{forged}.{signature}")[0] == 401


def test_a_token_for_another_audience_is_refused(keycloak, application):
    email, _ = person(keycloak, role="student")
    token = account_console_token(keycloak, email, PASSWORD)
    assert "stint-api" not in (claims_of(token).get("aud") or [])
    status, message = _refused(application, token)
    assert status == 401 and "not meant for the Stint APIs" in message


def test_production_refuses_make_token_but_accepts_keycloak(keycloak, settings_for, redis):
    settings = settings_trusting(
        settings_for, keycloak, "application", env="production", public_url="https://v.example"
    )
    settings = replace(settings, extra={**settings.extra, "STINT_RATE_LIMIT_STORAGE": redis.url})
    with service_app(create_application_app, settings) as app:
        client = app.test_client()
        local = mint_token(TEST_SECRET, "stu-1", "student")
        status, message = _refused(client, local)
        assert status == 401 and "not accepted" in message
        email, _ = person(keycloak, role="student")
        assert client.get("/applications", headers=auth_header(access_token(keycloak, email))).status_code == 200


def test_a_rotated_keycloak_key_is_trusted_without_a_restart(keycloak, application):
    email, _ = person(keycloak, role="student")
    before = access_token(keycloak, email)
    assert application.get("/applications", headers=auth_header(before)).status_code == 200
    realm = keycloak.admin.request("GET", "").json()
    keycloak.admin.request(
        "POST",
        "/components",
        json={
            "name": f"rotated-{int(time.time())}",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm["id"],
            "config": {"priority": ["1000"], "algorithm": ["RS256"], "keySize": ["2048"]},
        },
    )
    after = access_token(keycloak, email)
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    # The service refetches Keycloak's keys for an unknown key id at most once per cooldown: a person retrying
    # gets in within it, with no restart.
    deadline = time.monotonic() + JWKS_REFRESH_COOLDOWN_SECONDS + 5
    while (status := application.get("/applications", headers=auth_header(after)).status_code) != 200:
        assert status == 401 and time.monotonic() < deadline
        time.sleep(0.5)
    assert application.get("/applications", headers=auth_header(before)).status_code == 200  # the old key still counts
