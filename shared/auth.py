"""Bearer JWT verification with roles and organisations; `python -m shared.auth mint` for local tokens."""

from __future__ import annotations

import argparse
import base64
import functools
import json
import re
import time
import uuid
from dataclasses import dataclass

import jwt
from flask import current_app, g, request

from shared.errors import Forbidden, Unauthorized

ROLES = ("student", "employer", "university", "admin")
ORG_ROLES = ("employer", "university")  # people who act for an organisation (its id is the org claim)
ASYMMETRIC_ALGORITHMS = ["RS256", "ES256", "EdDSA"]
LEEWAY_SECONDS = 30
# A token naming a key id we have not seen fetches the key set again, at most once per this many seconds (so a
# flood of made-up key ids cannot hammer the identity provider); a rotated key is trusted within this time.
JWKS_REFRESH_COOLDOWN_SECONDS = 5
# A compact JWS: three base64url segments (no padding), none of a length base64 cannot have.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


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
    """Checks a bearer token: the identity provider's (JWKS or public key, with issuer and audience), or outside
    production a locally signed HS256 one (`make token`)."""

    def __init__(
        self,
        secret: str = "",
        public_key: str = "",
        jwks_url: str = "",
        *,
        issuer: str = "",
        audience: str = "",
        accept_local_tokens: bool = True,
    ):
        self._secret = secret if accept_local_tokens else ""
        self._public_key = public_key
        # PyJWKClient fetches the key set again when a token names a key id it has not seen: a rotated
        # Keycloak key is picked up without a restart.
        self._jwks = (
            jwt.PyJWKClient(
                jwks_url, cache_keys=True, lifespan=300, timeout=5, cooldown_duration=JWKS_REFRESH_COOLDOWN_SECONDS
            )
            if jwks_url
            else None
        )
        self._issuer = issuer or None
        self._audience = audience or None

    @classmethod
    def from_settings(cls, settings) -> TokenVerifier:
        """Build from shared.config.Settings (production never accepts HS256 tokens)."""
        return cls(
            settings.auth_secret,
            settings.auth_public_key,
            settings.auth_jwks_url,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            accept_local_tokens=settings.env != "production",
        )

    def verify(self, token: str) -> Principal:
        """Decode and check a token; raise Unauthorized. The role is require()'s to check."""
        try:
            claims = self._decode(token)
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", code="token_expired") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("the token was issued by another identity provider", code="invalid_token") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("the token is not meant for the Stint APIs", code="invalid_token") from None
        except jwt.PyJWKClientConnectionError:
            raise Unauthorized("the identity provider's keys cannot be fetched now", code="invalid_token") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(f"the token is not valid: {exc}", code="invalid_token") from None
        role = claims.get("role")
        org = claims.get("org")
        return Principal(
            sub=str(claims["sub"]),
            role=role if role in ROLES else "",
            org=str(org) if org else None,
            name=str(claims.get("name", "")),
            email=str(claims.get("email", "")),
        )

    def _decode(self, token: str) -> dict:
        algorithm = unverified_header(token).get("alg")
        options = {"require": ["sub", "exp"]}
        if algorithm == "HS256":
            if not self._secret:
                raise jwt.InvalidTokenError("locally signed (HS256) tokens are not accepted here")
            return jwt.decode(token, self._secret, algorithms=["HS256"], leeway=LEEWAY_SECONDS, options=options)
        if self._jwks is not None:
            key = self._jwks.get_signing_key_from_jwt(token).key
        elif self._public_key:
            key = self._public_key
        else:
            raise jwt.InvalidTokenError(f"tokens signed with {algorithm} are not accepted here")
        if self._issuer:
            options["require"].append("iss")
        if self._audience:
            options["require"].append("aud")
        return jwt.decode(
            token,
            key,
            algorithms=ASYMMETRIC_ALGORITHMS,
            leeway=LEEWAY_SECONDS,
            issuer=self._issuer,
            audience=self._audience,
            options=options,
        )


def unverified_header(token: str) -> dict:
    """The token's header, to choose how to check it: read directly when the token is plainly well formed (PyJWT
    parses the whole token again when it checks it, and its parse checks each character in Python); anything
    unusual is left to PyJWT's own reading, which raises its own error."""
    segments = token.split(".")
    if len(segments) == 3 and all(_SEGMENT.fullmatch(s) and len(s) % 4 != 1 for s in segments):
        try:
            header = json.loads(base64.urlsafe_b64decode(segments[0] + "=" * (-len(segments[0]) % 4)))
        except (ValueError, RecursionError):
            header = None
        # kid, crit and b64 have checks of their own in PyJWT's reading.
        if isinstance(header, dict) and not {"kid", "crit", "b64"} & header.keys():
            return header
    return jwt.get_unverified_header(token)


def bearer_token() -> str:
    """The bearer token of the current request, or raise Unauthorized."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an Authorization: Bearer <token> header is required", code="token_missing")
    return token.strip()


def current_principal() -> Principal:
    """Verify the request's token once and remember the caller on `g` (any verified token, role or not)."""
    if "principal" not in g:
        g.principal = current_app.extensions["stint_auth"].verify(bearer_token())
    return g.principal


def optional_principal() -> Principal | None:
    """The caller when a valid token is present; None when no token is sent."""
    if not request.headers.get("Authorization"):
        return None
    return current_principal()


def check_role(principal: Principal, roles: tuple[str, ...], org_required: bool = True) -> None:
    """Raise Forbidden unless the caller has one of `roles` (any role when empty) and, if it acts for an
    organisation, names it."""
    if not principal.role:
        raise Forbidden("the account has no role yet: choose student or employer first", code="role_missing")
    if roles and principal.role not in roles:
        raise Forbidden(f"this action needs the role {' or '.join(roles)}", code="wrong_role")
    if org_required and principal.role in ORG_ROLES and not principal.org:
        raise Forbidden(
            f"a {principal.role} must register or join an organisation first (no org claim)", code="org_missing"
        )


def require(*roles: str, org_required: bool = True):
    """View decorator: a valid token whose role is one of `roles` (any role when empty); employers and
    universities must name their organisation unless `org_required` is False."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            check_role(current_principal(), roles, org_required)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def require_account(view):
    """View decorator: any valid token, even one whose account has not chosen a role yet (onboarding)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        current_principal()
        return view(*args, **kwargs)

    return wrapper


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
