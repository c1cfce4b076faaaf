"""The stint realm on a real Keycloak, used the way people use it: sign up, verify, sign in, get locked out.

Every check goes through Keycloak's own pages, mails and endpoints (tests/support/keycloak.py).
"""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from tests.support.keycloak import (
    Browser,
    SignInRefused,
    account_console_token,
    create_user,
    open_verification_link,
    register,
    sign_in,
    try_sign_in,
    unique_email,
    verification_link,
)

PASSWORD = "correct horse battery"


def access_claims(kc, tokens: dict) -> dict:
    """The access token's claims, checked the way the services check them: JWKS signature, issuer, audience."""
    key = jwt.PyJWKClient(kc.jwks_url).get_signing_key_from_jwt(tokens["access_token"]).key
    return jwt.decode(tokens["access_token"], key, algorithms=["RS256"], issuer=kc.issuer, audience=kc.audience)


def test_the_stint_realm_is_imported_and_offers_sign_up(keycloak):
    discovery = requests.get(f"{keycloak.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == keycloak.issuer == f"{keycloak.url}/realms/stint"
    assert discovery["jwks_uri"] == keycloak.jwks_url
    assert "S256" in discovery["code_challenge_methods_supported"]
    page = Browser(keycloak).open_sign_in()
    assert "Sign in to Stint" in page.text
    assert page.link(r"login-actions/registration")  # "Register" is offered
    assert page.link(r"login-actions/reset-credentials")  # "Forgot password?" is offered


def test_a_person_registers_verifies_their_email_and_signs_in(keycloak, mail):
    email = unique_email("ada")
    page = register(keycloak, email, PASSWORD, "Ada", "Lovelace")
    assert "You need to verify your email address" in page.text
    link = verification_link(mail, email)
    assert link.startswith(f"{keycloak.url}/realms/stint/login-actions/action-token?")
    assert "Your email address has been verified" in open_verification_link(keycloak, link).text
    # Onboarding (the listing service, through stint-accounts) gives the person a role.
    keycloak.admin.set_attributes(keycloak.admin.find_user(email)["id"], role="student")

    claims = access_claims(keycloak, sign_in(keycloak, email, PASSWORD))

    assert claims["iss"] == f"{keycloak.url}/realms/stint"
    assert claims["aud"] in ("stint-api", ["stint-api"])
    assert claims["role"] == "student"
    assert claims["name"] == "Ada Lovelace"
    assert claims["email"] == email
    assert claims["email_verified"] is True
    assert claims["azp"] == "stint-web"
    assert "org" not in claims


def test_a_new_account_signs_in_without_a_role_until_onboarding_sets_one(keycloak):
    email = unique_email("newcomer")
    create_user(keycloak, email, PASSWORD)
    claims = access_claims(keycloak, sign_in(keycloak, email, PASSWORD))
    assert "role" not in claims and claims["email"] == email


def test_an_employer_token_carries_their_organisation(keycloak):
    email = unique_email("grace")
    create_user(keycloak, email, PASSWORD, role="employer", org="org-42", name="Grace Hopper")
    claims = access_claims(keycloak, sign_in(keycloak, email, PASSWORD))
    assert (claims["role"], claims["org"], claims["name"]) == ("employer", "org-42", "Grace Hopper")


def test_a_wrong_password_is_refused(keycloak):
    email = unique_email("wrong")
    create_user(keycloak, email, PASSWORD, role="student")
    _browser, page, code = try_sign_in(keycloak, email, "not my password at all")
    assert code is None
    assert page.message == "Invalid username or password."


def test_an_unverified_email_cannot_finish_signing_in(keycloak, mail):
    email = unique_email("unverified")
    create_user(keycloak, email, PASSWORD, role="student", verified=False)
    with pytest.raises(SignInRefused) as refused:
        sign_in(keycloak, email, PASSWORD)
    assert "You need to verify your email address to activate your account" in refused.value.page.text
    assert verification_link(mail, email)  # and Keycloak mailed them the link


def test_five_wrong_passwords_lock_the_account_for_a_while(keycloak):
    email = unique_email("guessed")
    user_id = create_user(keycloak, email, PASSWORD, role="student")
    for attempt in range(4):
        assert try_sign_in(keycloak, email, f"guess number {attempt}")[2] is None
        time.sleep(1.1)  # slower than Keycloak's quick-login check, which would lock on its own
    assert not keycloak.admin.brute_force_status(user_id)["disabled"]
    try_sign_in(keycloak, email, "guess number 5")

    _browser, page, code = try_sign_in(keycloak, email, PASSWORD)

    assert code is None, "the right password still worked after five wrong ones"
    assert page.message == "Invalid username or password."  # Keycloak does not tell a guesser it locked
    assert keycloak.admin.brute_force_status(user_id)["disabled"]


def test_a_person_cannot_set_their_own_role_or_org_in_the_account_console(keycloak):
    email = unique_email("climber")
    user_id = create_user(keycloak, email, PASSWORD, role="student")
    headers = {
        "Authorization": f"Bearer {account_console_token(keycloak, email, PASSWORD)}",
        "Accept": "application/json",
    }
    account = f"{keycloak.issuer}/account"
    me = requests.get(account, headers=headers, timeout=10).json()
    assert me["attributes"]["role"] == ["student"]  # they can see it

    me["attributes"].update(role=["admin"], org=["someone-elses-org"])
    refused = requests.post(account, headers=headers, json=me, timeout=10)

    assert refused.status_code == 400
    assert {error["field"] for error in refused.json()["errors"]} == {"role", "org"}
    assert keycloak.admin.user(user_id)["attributes"] == {"role": ["student"]}
    me["attributes"] = {"role": ["student"]}
    me["firstName"] = "Renamed"
    assert requests.post(account, headers=headers, json=me, timeout=10).status_code == 204  # their name is theirs
    assert keycloak.admin.user(user_id)["firstName"] == "Renamed"


def test_a_person_cannot_give_themselves_a_role_when_registering(keycloak, mail):
    email = unique_email("sneaky")
    browser = Browser(keycloak)
    form = browser.get(browser.open_sign_in().link(r"login-actions/registration"))[0].form("kc-register-form")
    browser.submit(
        form,
        email=email,
        firstName="Sneaky",
        lastName="Person",
        password=PASSWORD,
        role="admin",  # a field the form does not have, added by hand
        org="org-1",
        **{"password-confirm": PASSWORD},
    )
    open_verification_link(keycloak, verification_link(mail, email))
    claims = access_claims(keycloak, sign_in(keycloak, email, PASSWORD))
    assert "role" not in claims and "org" not in claims


def test_registering_an_email_twice_gets_keycloaks_own_error(keycloak):
    email = unique_email("twice")
    create_user(keycloak, email, PASSWORD)
    page = register(keycloak, email, "another long password")
    assert page.message == "Email already exists."
    assert "kc-register-form" in page.forms  # the form is shown again


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("short", "Invalid password: minimum length 10."),
        (None, "Invalid password: must not be equal to the username."),  # the email is the username
    ],
)
def test_a_weak_password_gets_keycloaks_own_error(keycloak, password, error):
    email = unique_email("weak")
    page = register(keycloak, email, password or email)
    assert page.message == error
    assert keycloak.admin.find_user(email) is None


def test_the_accounts_client_may_manage_users_and_nothing_else(keycloak):
    email = unique_email("onboarded")
    user_id = create_user(keycloak, email, PASSWORD)
    token = requests.post(
        f"{keycloak.issuer}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials"},
        auth=(keycloak.accounts_client_id, keycloak.accounts_client_secret),
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    users = f"{keycloak.url}/admin/realms/stint/users"
    user = requests.get(f"{users}/{user_id}", headers=headers, timeout=10).json()
    user["attributes"] = {"role": ["employer"], "org": ["org-7"]}

    assert requests.put(f"{users}/{user_id}", headers=headers, json=user, timeout=10).status_code == 204
    claims = access_claims(keycloak, sign_in(keycloak, email, PASSWORD))
    assert (claims["role"], claims["org"]) == ("employer", "org-7")
    for forbidden in (f"{keycloak.url}/admin/realms/stint/clients", f"{keycloak.url}/admin/realms/master/users"):
        assert requests.get(forbidden, headers=headers, timeout=10).status_code == 403


def test_no_client_signs_anyone_in_with_a_bare_password(keycloak):
    email = unique_email("direct")
    create_user(keycloak, email, PASSWORD, role="student")
    for client in (
        (keycloak.web_client_id, keycloak.web_client_secret),
        (keycloak.accounts_client_id, keycloak.accounts_client_secret),
    ):
        response = requests.post(
            f"{keycloak.issuer}/protocol/openid-connect/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
            auth=client,
            timeout=10,
        )
        assert response.status_code in (400, 401) and "access_token" not in response.json()


def test_restarting_keycloak_keeps_the_realm_and_its_people(keycloak):
    email = unique_email("returning")
    create_user(keycloak, email, PASSWORD, role="university", org="uni-1")

    keycloak.server.restart(timeout=180)  # imports the realm file again: skipped, the realm exists

    claims = access_claims(keycloak, sign_in(keycloak, email, PASSWORD))
    assert (claims["role"], claims["org"], claims["iss"]) == ("university", "uni-1", keycloak.issuer)
    assert "already exists. Import skipped" in keycloak.server.log_tail(400)
