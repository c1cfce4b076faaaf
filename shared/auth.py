"""Bearer JWT verification with roles and organisations; `python -m shared.auth mint` for local tokens."""

from __future__ import annotations

import argparse
import functools
import time
import uuid
from dataclasses import dataclass

import jwt
from flask import current_app, g, request

from shared.errors import Forbidden, Unauthorized

ROLES = ("student", "employer", "university", "admin")
ASYMMETRIC_ALGORITHMS = ["RS256", "ES256", "EdDSA"]
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of their token."""

    sub: str
    role: str
    org: str | None = None
    name: str = ""
    email: str = ""

    def is_member_of(self, org_id: str | None) -> bool:
        """True when the caller acts for organisation `org_id`."""
        return bool(self.org) and self.org == org_id


class TokenVerifier:
    """Checks a bearer token against the configured secret, public key or JWKS."""

    def __init__(self, secret: str = "", public_key: str = "", jwks_url: str = ""):
        self._secret = secret
        self._public_key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

    @classmethod
    def from_settings(cls, settings) -> TokenVerifier:
        """Build from shared.config.Settings."""
        return cls(settings.auth_secret, settings.auth_public_key, settings.auth_jwks_url)

    def verify(self, token: str) -> Principal:
        """Decode and check a token; raise Unauthorized or Forbidden."""
        try:
            if self._jwks is not None:
                key, algorithms = self._jwks.get_signing_key_from_jwt(token).key, ASYMMETRIC_ALGORITHMS
            elif self._public_key:
                key, algorithms = self._public_key, ASYMMETRIC_ALGORITHMS
            else:
                key, algorithms = self._secret, ["HS256"]
            claims = jwt.decode(
                token, key, algorithms=algorithms, leeway=LEEWAY_SECONDS, options={"require": ["sub", "exp"]}
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", code="token_expired") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(f"the token is not valid: {exc}", code="invalid_token") from None
        role = claims.get("role")
        if role not in ROLES:
            raise Forbidden("the token carries no known role", code="role_missing")
        if role in ("employer", "university") and not claims.get("org"):
            raise Forbidden(f"a {role} token must name its organisation (org claim)", code="org_missing")
        return Principal(
            sub=str(claims["sub"]),
            role=role,
            org=claims.get("org"),
            name=str(claims.get("name", "")),
            email=str(claims.get("email", "")),
        )


def bearer_token() -> str:
    """The bearer token of the current request, or raise Unauthorized."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an Authorization: Bearer <token> header is required", code="token_missing")
    return token.strip()


def current_principal() -> Principal:
    """Verify the request's token once and remember the caller on `g`."""
    if "principal" not in g:
        g.principal = current_app.extensions["stint_auth"].verify(bearer_token())
    return g.principal


def optional_principal() -> Principal | None:
    """The caller when a valid token is present; None when no token is sent."""
    if not request.headers.get("Authorization"):
        return None
    return current_principal()


def require(*roles: str):
    """View decorator: a valid token whose role is one of `roles` (any role when empty)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if roles and principal.role not in roles:
                raise Forbidden(f"this action needs the role {' or '.join(roles)}", code="wrong_role")
            return view(*args, **kwargs)

        wrapper._stint_roles = roles  # read by the OpenAPI docs helper
        return wrapper

    return decorate


def mint_token(
    secret: str,
    sub: str,
    role: str,
    org: str | None = None,
    name: str = "",
    email: str = "",
    ttl_seconds: int = 3600,
    **extra,
) -> str:
    """Sign an HS256 token for local use and tests."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "role": role,
        "name": name,
        "email": email,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
        **extra,
    }
    if org:
        claims["org"] = org
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> None:
    """CLI: print a locally signed token (reads STINT_AUTH_SECRET from the env or .env)."""
    from shared.dotenv import load_dotenv

    parser = argparse.ArgumentParser(prog="python -m shared.auth", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    mint = sub.add_parser("mint", help="mint a token")
    mint.add_argument("--role", required=True, choices=ROLES)
    mint.add_argument("--sub", required=True, help="user id")
    mint.add_argument("--org", help="organisation id (employers, universities)")
    mint.add_argument("--name", default="")
    mint.add_argument("--email", default="")
    mint.add_argument("--ttl", type=int, default=8 * 3600, help="seconds")
    args = parser.parse_args(argv)
    env = load_dotenv()
    secret = env.get("STINT_AUTH_SECRET")
    if not secret:
        parser.error("STINT_AUTH_SECRET is not set (run `make up` first, which writes .env)")
    print(mint_token(secret, args.sub, args.role, args.org, args.name, args.email, args.ttl))


if __name__ == "__main__":
    main()
