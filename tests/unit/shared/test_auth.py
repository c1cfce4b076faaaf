import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.auth import TokenVerifier, check_role, mint_token
from shared.errors import Forbidden, Unauthorized

SECRET = "k" * 40
verifier = TokenVerifier(secret=SECRET)


def test_a_valid_token_names_the_caller_role_and_org():
    principal = verifier.verify(mint_token(SECRET, "u1", "employer", org="acme", name="Ann", email="ann@acme.test"))
    assert (principal.sub, principal.role, principal.org, principal.email) == (
        "u1",
        "employer",
        "acme",
        "ann@acme.test",
    )
    assert principal.is_member_of("acme") and not principal.is_member_of("other")


def test_an_expired_token_is_refused():
    token = mint_token(SECRET, "u1", "student", ttl_seconds=-120)
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token)
    assert caught.value.code == "token_expired"


def test_a_token_signed_with_another_secret_is_refused():
    with pytest.raises(Unauthorized, match="not valid"):
        verifier.verify(mint_token("z" * 40, "u1", "student"))


def test_an_account_without_a_role_is_verified_but_may_not_act():
    token = jwt.encode({"sub": "u1", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    principal = verifier.verify(token)
    assert principal.role == ""
    with pytest.raises(Forbidden) as caught:
        check_role(principal, ())
    assert caught.value.code == "role_missing"


def test_an_employer_without_an_organisation_may_only_register_one():
    principal = verifier.verify(mint_token(SECRET, "u1", "employer"))
    with pytest.raises(Forbidden, match="organisation"):
        check_role(principal, ("employer",))
    check_role(principal, ("employer",), org_required=False)


def test_a_student_may_not_act_as_an_employer():
    with pytest.raises(Forbidden) as caught:
        check_role(verifier.verify(mint_token(SECRET, "u1", "student")), ("employer",))
    assert caught.value.code == "wrong_role"


def test_the_none_algorithm_is_refused():
    token = jwt.encode({"sub": "u1", "role": "admin", "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        verifier.verify(token)


@pytest.mark.parametrize(
    "token, says",
    [
        ("abc", "Not enough segments"),
        ("a.b.c", "Invalid header padding"),
        ("W10.e30.", "Invalid header string: must be a json object"),
        (mint_token(SECRET, "u1", "student")[:-1] + "!", "Invalid crypto padding"),
        ("eyJhbGciOiJIUzI1NiIsImtpZCI6MX0.e30.", "Key ID header parameter must be a string"),
    ],
)
def test_a_malformed_token_is_refused_saying_what_is_wrong(token, says):
    with pytest.raises(Unauthorized, match=f"the token is not valid: {says}") as caught:
        verifier.verify(token)
    assert caught.value.code == "invalid_token"


# ---- the identity provider's tokens (RS256 with issuer and audience) ------------------------------------------

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
ISSUER, AUDIENCE = "http://id.stint.test/realms/stint", "stint-api"
provider = TokenVerifier(secret=SECRET, public_key=PUBLIC_PEM, issuer=ISSUER, audience=AUDIENCE)
production = TokenVerifier(
    secret=SECRET, public_key=PUBLIC_PEM, issuer=ISSUER, audience=AUDIENCE, accept_local_tokens=False
)


def provider_token(key=RSA_KEY, **claims) -> str:
    now = int(time.time())
    body = {"sub": "kc-1", "iss": ISSUER, "aud": ["stint-api", "account"], "exp": now + 300, "iat": now}
    body |= {"role": "student", "name": "Asha Rao", "email": "asha@uni.example"}
    return jwt.encode(body | claims, key, algorithm="RS256")


def test_the_identity_providers_token_names_the_caller():
    principal = provider.verify(provider_token())
    assert (principal.sub, principal.role, principal.name, principal.email) == (
        "kc-1",
        "student",
        "Asha Rao",
        "asha@uni.example",
    )


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"iss": "http://id.stint.test/realms/other"}, "another identity provider"),
        ({"aud": "account"}, "not meant for the Stint APIs"),
        ({"exp": int(time.time()) - 120}, "expired"),
    ],
)
def test_a_token_from_elsewhere_for_something_else_or_expired_is_refused(claims, says):
    with pytest.raises(Unauthorized, match=says):
        provider.verify(provider_token(**claims))


def test_a_token_signed_by_another_key_is_refused():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized, match="not valid"):
        provider.verify(provider_token(key=other))


def test_a_tampered_token_is_refused():
    header, body, signature = provider_token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged = base64.urlsafe_b64encode(json.dumps(claims | {"role": "admin"}).encode()).decode().rstrip("=")
    with pytest.raises(Unauthorized):
        provider.verify(f"{header}.{forged}.{signature}")


def test_outside_production_local_tokens_still_work_beside_the_provider():
    assert provider.verify(mint_token(SECRET, "u1", "admin")).role == "admin"


def test_production_refuses_locally_signed_tokens():
    with pytest.raises(Unauthorized, match="not accepted"):
        production.verify(mint_token(SECRET, "u1", "admin"))
    assert production.verify(provider_token()).role == "student"
