"""The Open Badges 3.0 credential Stint issues for approved fieldwork (pure: no I/O)."""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote, urlsplit

from services.certification.jsonld import OB_V3, VC_V2

# Only the standard contexts: a verifier that bundles just these (and fetches nothing) must understand every
# property. The retired stint-v1 extension context is still read by POST /verify, never written (docs/credentials.md).
CONTEXTS = [VC_V2, OB_V3]
CREDENTIAL_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
# India's National Credit Framework: 30 notional learning hours make one credit.
HOURS_PER_CREDIT = 30
ISSUER_NAME = "Stint"
RATING_MAX = 5
SKILL_FRAMEWORK = "Stint skills"
# OB 3.0's ResultType vocabulary has no "hours"; its extension convention is the "ext:" prefix.
HOURS_RESULT_TYPE = "ext:HoursVerified"


def credits_for(hours: float, hours_per_credit: float = HOURS_PER_CREDIT) -> float:
    """Credits for `hours`, rounded down to half credits (44h → 1.0, 45h → 1.5)."""
    if hours <= 0 or hours_per_credit <= 0:
        return 0.0
    return math.floor(hours * 2 / hours_per_credit + 1e-9) / 2


def did_web(public_url: str) -> str:
    """The did:web of the service: its public host, with a port written as %3A."""
    parts = urlsplit(public_url)
    host = parts.hostname or "localhost"
    if parts.port:
        host = f"{host}%3A{parts.port}"
    return f"did:web:{host}"


def identity_hash(email: str, salt: str) -> str:
    """The Open Badges salted SHA-256 identity hash of an email address."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()


def urn_for(kind: str, natural_id: str) -> str:
    """A stable urn:uuid for something Stint names by its own id (an organisation, a listing)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'https://stint/{kind}/{natural_id}')}"


def utc_timestamp(moment: datetime) -> str:
    """XML Schema dateTime in UTC, seconds precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float) -> float | int:
    """Whole numbers as JSON integers (see jsonld._ints_for_whole_floats)."""
    return int(value) if float(value).is_integer() else float(value)


def _day(value: date | str) -> str:
    """A calendar day as an OB DateTime at midnight UTC (the OB 3.0 JSON schema wants date-time)."""
    text = value.isoformat() if isinstance(value, date) else str(value)[:10]
    return f"{text}T00:00:00Z"


@dataclass(frozen=True)
class StatusEntry:
    """Where a credential's revocation bit lives."""

    list_url: str
    index: int

    def as_json(self) -> dict:
        """The BitstringStatusListEntry for the credential."""
        return {
            "id": f"{self.list_url}#{self.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }


def criteria_narrative(deliverables: list[str], brief: str) -> str:
    """The achievement criteria: the deliverables the employer asked for."""
    if deliverables:
        return "Delivered, and approved by the employer:\n" + "\n".join(f"- {item}" for item in deliverables)
    return brief or "Completed the project brief to the employer's approval."


def skill_slug(skill: str) -> str:
    """The path segment of a skill's public page: lower case words joined by hyphens ("C++" → "c-plus-plus")."""
    words = skill.strip().lower().replace("+", " plus ").replace("#", " sharp ")
    # Letters, combining marks (Indic vowel signs) and digits stay; every run of anything else is one hyphen.
    kept = "".join(ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in words)
    return "-".join(kept.split()) or "skill"


def skill_url(skill: str, public_url: str) -> str:
    """The public page of a skill (GET /skills/<slug>, HTML or JSON)."""
    return f"{public_url.rstrip('/')}/skills/{quote(skill_slug(skill), safe='-')}"


def alignment(skill: str, public_url: str) -> dict:
    """An OB 3.0 Alignment to a skill's public page on this service."""
    return {
        "type": ["Alignment"],
        "targetName": skill,
        "targetUrl": skill_url(skill, public_url),
        "targetCode": skill_slug(skill),
        "targetFramework": SKILL_FRAMEWORK,
    }


def skills_of(work: dict) -> list[str]:
    """Every skill a credential aligns to: the listing's and those the employer saw demonstrated, once each."""
    return list(dict.fromkeys([*(work["listing"].get("skills") or []), *(work.get("skills_demonstrated") or [])]))


def _result_descriptions(listing: dict) -> list[dict]:
    """What the two results mean: the employer's rating (1–5) and the hours of work the employer verified."""
    return [
        {
            "id": urn_for("rating-scale", listing["listing_id"]),
            "type": ["ResultDescription"],
            "name": "Employer's rating of the work",
            "resultType": "RawScore",
            "valueMin": "1",
            "valueMax": str(RATING_MAX),
        },
        {
            "id": urn_for("hours-verified", listing["listing_id"]),
            "type": ["ResultDescription"],
            "name": "Hours of work verified by the employer",
            "resultType": HOURS_RESULT_TYPE,
            "valueMin": "0",
            "valueMax": str(_number(listing["effort_hours"])),
        },
    ]


def achievement(work: dict, public_url: str) -> dict:
    """The Achievement: what the listing asked for, its skills, the credits it can earn and its results' meaning."""
    listing = work["listing"]
    return {
        "id": urn_for("listing", listing["listing_id"]),
        "type": ["Achievement"],
        "achievementType": "Fieldwork",
        "name": listing["title"],
        "description": listing.get("summary") or listing.get("brief") or listing["title"],
        "criteria": {"narrative": criteria_narrative(listing.get("deliverables") or [], listing.get("brief", ""))},
        "alignment": [alignment(skill, public_url) for skill in dict.fromkeys(listing.get("skills") or [])],
        "creditsAvailable": _number(credits_for(listing["effort_hours"])),
        "resultDescription": _result_descriptions(listing),
    }


def digest_uri(hex_digest: str) -> str:
    """A SHA-256 digest as an RFC 6920 Named Information URI (ni:///sha-256;<base64url>)."""
    encoded = base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode("ascii").rstrip("=")
    return f"ni:///sha-256;{encoded}"


def evidence(work: dict) -> list[dict]:
    """The approved submission (named by its digest, with who approved it and when) and each submitted link."""
    submission = work["submission"]
    approver = work["approver"].get("name") or "the employer's reviewer"
    items = [
        {
            "id": digest_uri(submission["digest"]),
            "type": ["Evidence"],
            "name": "Approved submission",
            "genre": "Submission",
            "narrative": submission.get("notes") or "Work approved by the employer.",
            "description": (
                f"Approved by {approver} for {work['listing']['org_name']} on {_day(work['completed_on'])[:10]}. "
                f"SHA-256 of the approved submission: {submission['digest']}."
            ),
        }
    ]
    for number, link in enumerate(dict.fromkeys(submission.get("links") or []), start=1):
        items.append({"id": link, "type": ["Evidence"], "name": f"Submitted work, link {number}"})
    return items


def _identifiers(student: dict, salt: str) -> list[dict]:
    """The student by name (OB 3.0 identityType "name", in plain text) and by salted hash of their email."""
    return [
        {
            "type": "IdentityObject",
            "identityHash": student.get("name") or "Student",
            "identityType": "name",
            "hashed": False,
        },
        {
            "type": "IdentityObject",
            "identityHash": identity_hash(student.get("email", ""), salt),
            "identityType": "emailAddress",
            "hashed": True,
            "salt": salt,
        },
    ]


def subject(work: dict, salt: str, public_url: str) -> dict:
    """The AchievementSubject: only properties OB 3.0 defines for it (the JSON schema allows no others)."""
    listing = work["listing"]
    demonstrated = list(dict.fromkeys(work.get("skills_demonstrated") or []))
    return {
        "type": ["AchievementSubject"],
        "identifier": _identifiers(work["student"], salt),
        "achievement": achievement(work, public_url),
        "creditsEarned": _number(credits_for(work["hours_verified"])),
        "activityStartDate": _day(work["started_on"]),
        "activityEndDate": _day(work["completed_on"]),
        "role": "Intern",
        "result": [
            {
                "type": ["Result"],
                "resultDescription": urn_for("rating-scale", listing["listing_id"]),
                "value": str(work["rating"]),
                # The skills the employer saw demonstrated, as the alignment of the employer's assessment.
                **({"alignment": [alignment(skill, public_url) for skill in demonstrated]} if demonstrated else {}),
            },
            {
                "type": ["Result"],
                "resultDescription": urn_for("hours-verified", listing["listing_id"]),
                "value": str(_number(work["hours_verified"])),
            },
        ],
        "source": {
            "id": urn_for("org", listing["org_id"]),
            "type": ["Profile"],
            "name": listing["org_name"],
            **({"url": listing["org_website"]} if listing.get("org_website") else {}),
        },
    }


def build_credential(
    work: dict, *, credential_id: str, issuer_did: str, public_url: str, issued_at: datetime, status: StatusEntry
) -> dict:
    """The unsigned OpenBadgeCredential for an approved piece of work (event data of work.approved)."""
    title = work["listing"]["title"]
    return {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPES),
        "name": f"Fieldwork: {title}",
        "description": f"Completed the micro-internship \u201c{title}\u201d with {work['listing']['org_name']}.",
        "issuer": {"id": issuer_did, "type": ["Profile"], "name": ISSUER_NAME},
        "validFrom": utc_timestamp(issued_at),
        "credentialSubject": subject(work, secrets.token_hex(8), public_url),
        "evidence": evidence(work),
        "credentialStatus": status.as_json(),
    }
