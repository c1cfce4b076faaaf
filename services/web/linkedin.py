"""LinkedIn's "Add to profile" link for a credential: LinkedIn's form opens with the certification filled in."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from services.web.templating import IST

ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def add_to_profile_url(credential: dict) -> str:
    """The address of LinkedIn's "Add licence or certification" form, filled in with this credential."""
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": credential.get("listing_title") or "Stint credential",
        "organizationName": credential.get("org_name") or "Stint",
    }
    issued = _issued(credential.get("issued_at"))
    if issued:
        params.update(issueYear=str(issued.year), issueMonth=str(issued.month))
    if credential.get("verification_url"):
        params["certUrl"] = credential["verification_url"]
    if credential.get("id"):
        params["certId"] = str(credential["id"]).split(":")[-1]
    return f"{ADD_TO_PROFILE}?{urlencode(params)}"


def _issued(value) -> datetime | None:
    """When the credential was issued, in India time (the month a student in India would say)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(IST) if moment.tzinfo else moment
