"""Portfolio rules: what a handle may be, which credentials a student may show, and what the public sees (pure
Python: no Flask, Mongo or Kafka)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from shared.errors import Conflict, Unprocessable

HANDLE_MIN, HANDLE_MAX = 3, 30
# Letters, digits and single hyphens inside, so a handle reads well in a link (/portfolios/asha-rao).
HANDLE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Words that name Stint's own pages or could pass for an official voice.
RESERVED_HANDLES = frozenset(
    {
        "about",
        "admin",
        "administrator",
        "api",
        "docs",
        "edit",
        "help",
        "login",
        "logout",
        "me",
        "new",
        "official",
        "portfolio",
        "portfolios",
        "root",
        "security",
        "settings",
        "sign-in",
        "sign-up",
        "staff",
        "stint",
        "support",
        "system",
        "verify",
    }
)


class HandleNotAllowed(Unprocessable):
    """A handle is 3 to 30 letters, digits or hyphens and not one of Stint's own words."""

    code = "handle_invalid"


class HandleTaken(Conflict):
    """Two students never share a handle, whatever its letter case."""

    code = "handle_taken"


class CredentialNotYours(Unprocessable):
    """A portfolio shows only its student's own Stint credentials."""

    code = "credential_not_yours"


class CredentialReplaced(Unprocessable):
    """A credential re-issued under a new key is shown as its successor."""

    code = "credential_replaced"


class CredentialRevoked(Unprocessable):
    """A revoked credential is not shown."""

    code = "credential_revoked"


def handle_key(handle: str) -> str:
    """The handle as it is looked up and kept unique (lower case); HandleNotAllowed when it may not be one."""
    key = handle.strip().lower()
    if not HANDLE_MIN <= len(key) <= HANDLE_MAX:
        raise HandleNotAllowed(f"a handle is {HANDLE_MIN} to {HANDLE_MAX} characters long", details={"handle": handle})
    if not HANDLE.match(key):
        raise HandleNotAllowed(
            "a handle has only letters, digits and single hyphens between them (like asha-rao)",
            details={"handle": handle},
        )
    if key in RESERVED_HANDLES:
        raise HandleNotAllowed(
            f"“{key}” is kept for Stint's own pages: choose another handle", details={"handle": handle}
        )
    return key


def check_shown_credentials(requested: Sequence[str], known: Mapping[str, Mapping | None], student_id: str) -> list:
    """The credential uuids a student shows, in their order without repeats: each their own, current and unrevoked.

    `requested` are the ids as sent; `known` maps each to its stored record (None when there is none)."""
    not_theirs = [cid for cid in requested if (known.get(cid) or {}).get("student", {}).get("id") != student_id]
    if not_theirs:
        raise CredentialNotYours(
            "show only your own Stint credentials: " + ", ".join(not_theirs) + " " + _are(not_theirs) + " not yours",
            details={"credential_ids": not_theirs},
        )
    replaced = {cid: f"urn:uuid:{known[cid]['superseded_by']}" for cid in requested if known[cid].get("superseded_by")}
    if replaced:
        raise CredentialReplaced(
            "a credential re-issued under a new key no longer verifies; show its successor: "
            + ", ".join(f"{old} → {new}" for old, new in replaced.items()),
            details={"credential_ids": list(replaced), "replaced_by": list(replaced.values())},
        )
    revoked = [cid for cid in requested if known[cid].get("revoked")]
    if revoked:
        raise CredentialRevoked(
            "a revoked credential cannot be shown: " + ", ".join(revoked), details={"credential_ids": revoked}
        )
    return list(dict.fromkeys(known[cid]["_id"] for cid in requested))


def _are(items: Sequence) -> str:
    return "is" if len(items) == 1 else "are"


def public_portfolio(portfolio: Mapping, records: Mapping[str, Mapping], page_url: str, linkedin: Callable) -> dict:
    """What anyone sees of a published portfolio: name, headline, the chosen credentials still standing (a revoked
    one drops out; a re-issued one shows as its successor, when `records` holds it) and the work samples. Never an
    email or its hash."""
    credentials = []
    for credential_uuid in portfolio.get("credential_ids", []):
        record = _standing(records, credential_uuid)
        if record is None or record.get("student", {}).get("id") != portfolio["_id"]:
            continue
        credentials.append(
            {
                "id": record["credential_id"],
                "title": record.get("listing_title", ""),
                "org_name": record.get("org_name", ""),
                "issued_at": record.get("issued_at"),
                "hours": record.get("hours"),
                "credits_recommended": record.get("credits_recommended"),
                "verification_url": record.get("verification_url", ""),
                "linkedin_url": linkedin(record),
            }
        )
    return {
        "handle": portfolio["handle"],
        "name": portfolio.get("name", ""),
        "headline": portfolio.get("headline", ""),
        "url": page_url,
        "credentials": credentials,
        "work_samples": [dict(sample) for sample in portfolio.get("work_samples", [])],
        "updated_at": portfolio.get("updated_at"),
    }


def _standing(records: Mapping[str, Mapping], credential_uuid: str, hops: int = 3) -> Mapping | None:
    """The credential as it stands now: itself, or its re-issued successor; None when revoked or gone."""
    record = records.get(credential_uuid)
    while record is not None and record.get("superseded_by") and hops > 0:
        record, hops = records.get(record["superseded_by"]), hops - 1
    if record is None or record.get("revoked") or record.get("superseded_by"):
        return None
    return record
