"""LinkedIn's "Add to profile" link for a credential: LinkedIn's form opens with the certification filled in."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from shared.fields import IST

# LinkedIn's documented add-to-profile link (https://addtoprofile.linkedin.com): the "Add licence or certification"
# form, prefilled with the name, organisation, issue date, credential URL and credential id.
ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def add_to_profile_url(record: dict) -> str:
    """The address of LinkedIn's "Add licence or certification" form, filled in with this stored credential."""
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": record.get("listing_title") or "Stint credential",
        "organizationName": record.get("org_name") or "Stint",
    }
    issued = record.get("issued_at")
    if isinstance(issued, datetime):
        # The month a student in India would say (stored times are UTC; a naive one is read as UTC).
        moment = issued.astimezone(IST) if issued.tzinfo else issued.replace(tzinfo=UTC).astimezone(IST)
        params.update(issueYear=str(moment.year), issueMonth=str(moment.month))
    if record.get("verification_url"):
        params["certUrl"] = record["verification_url"]
    if record.get("credential_id"):
        params["certId"] = str(record["credential_id"]).removeprefix("urn:uuid:")
    return f"{ADD_TO_PROFILE}?{urlencode(params)}"
