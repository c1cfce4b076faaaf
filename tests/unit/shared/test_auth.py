import time

import jwt
import pytest

from shared.auth import TokenVerifier, mint_token
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


def test_a_token_without_a_role_is_forbidden():
    token = jwt.encode({"sub": "u1", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(Forbidden):
        verifier.verify(token)


def test_an_employer_token_must_name_its_organisation():
    with pytest.raises(Forbidden, match="organisation"):
        verifier.verify(mint_token(SECRET, "u1", "employer"))


def test_the_none_algorithm_is_refused():
    token = jwt.encode({"sub": "u1", "role": "admin", "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        verifier.verify(token)
