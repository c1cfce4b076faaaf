"""Credentials as Stint issued them before conformance (issue 11): with the stint-v1 extension context.

The shape is the one services/certification/credential.py built until then, kept here so the tests can
sign one and show that such credentials, already in students' wallets, keep verifying in POST /verify.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from services.certification.credential import (
    ISSUER_NAME,
    StatusEntry,
    credits_for,
    criteria_narrative,
    identity_hash,
    urn_for,
    utc_timestamp,
)
from services.certification.jsonld import OB_V3, STINT_V1, VC_V2


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def _day(value) -> str:
    return f"{str(value)[:10]}T00:00:00Z"


def stint_v1_credential(
    work: dict, *, credential_id: str, issuer_did: str, public_url: str, issued_at: datetime, status: StatusEntry
) -> dict:
    """The unsigned credential the old builder made for `work` (the data of stint.work.approved.v1)."""
    listing, student = work["listing"], work["student"]
    salt = secrets.token_hex(8)
    rating_id = urn_for("rating-scale", listing["listing_id"])
    achievement = {
        "id": urn_for("listing", listing["listing_id"]),
        "type": ["Achievement"],
        "achievementType": "Fieldwork",
        "name": listing["title"],
        "description": listing.get("summary") or listing["title"],
        "criteria": {"narrative": criteria_narrative(listing.get("deliverables") or [], listing.get("brief", ""))},
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": skill,
                "targetType": "ceasn:Competency",
                "targetUrl": f"{public_url}/skills/{skill.strip().lower().replace(' ', '%20')}",
            }
            for skill in listing.get("skills") or []
        ],
        "creditsAvailable": _number(credits_for(listing["effort_hours"])),
        "resultDescription": [
            {
                "id": rating_id,
                "type": ["ResultDescription"],
                "name": "Employer's rating of the work",
                "resultType": "RawScore",
                "valueMin": "1",
                "valueMax": "5",
            }
        ],
    }
    subject = {
        "type": ["AchievementSubject"],
        "name": student["name"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(student["email"], salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": salt,
            }
        ],
        "achievement": achievement,
        "creditsEarned": _number(credits_for(work["hours_verified"])),
        "activityStartDate": _day(work["started_on"]),
        "activityEndDate": _day(work["completed_on"]),
        "role": "Intern",
        "result": [{"type": ["Result"], "resultDescription": rating_id, "value": str(work["rating"])}],
        "source": {
            "id": urn_for("org", listing["org_id"]),
            "type": ["Profile"],
            "name": listing["org_name"],
            "approver": {"type": ["Profile"], "name": work["approver"]["name"]},
        },
        "engagementHours": _number(work["hours_verified"]),
        "skillsDemonstrated": list(work.get("skills_demonstrated") or []),
    }
    evidence = [
        {
            "type": ["Evidence"],
            "name": "Approved submission",
            "genre": "Submission",
            "narrative": work["submission"].get("notes") or "Work approved by the employer.",
            "submissionDigest": f"sha256:{work['submission']['digest']}",
        }
    ]
    return {
        "@context": [VC_V2, OB_V3, STINT_V1],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Fieldwork: {listing['title']}",
        "description": f"Completed the micro-internship \u201c{listing['title']}\u201d with {listing['org_name']}.",
        "issuer": {"id": issuer_did, "type": ["Profile"], "name": ISSUER_NAME, "url": public_url},
        "validFrom": utc_timestamp(issued_at),
        "credentialSubject": subject,
        "evidence": evidence,
        "credentialStatus": status.as_json(),
    }
