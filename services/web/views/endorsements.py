"""Endorsements on the web: an employer recommends a student's approved work, signed by their organisation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page

blp = Blueprint("endorsements", __name__)
ENDORSEMENT_LABELS = {"comment": "your recommendation"}


def endorsement_of(application: dict) -> dict:
    """What the employer's application page needs: `endorsement` (theirs, or None) once the work is approved."""
    if application.get("status") != "approved":
        return {}
    try:
        found = api("certification").endorsements(application_id=application["id"])["items"]
    except ApiProblem as problem:
        if problem.status < 500:
            raise
        return {}  # the certification service is not answering: the rest of the page still shows
    return {"endorsement": found[0] if found else None, "endorsable": not found}


def endorsements_by_credential(credentials: list[dict]) -> dict[str, list[dict]]:
    """The endorsements of a page of credentials (one call), by credential id."""
    if not credentials:
        return {}
    found = api("certification").endorsements(credential_ids=[c["id"] for c in credentials])["items"]
    grouped: dict[str, list[dict]] = {}
    for endorsement in found:
        grouped.setdefault(endorsement["credential_id"], []).append(endorsement)
    return grouped


@blp.post("/employer/applications/<application_id>/endorsement")
@auth.signed_in("employer")
def endorse(application_id):
    """Write a recommendation of approved work: it is signed by the organisation and shown with the credential."""
    comment = request.form.get("comment", "")
    try:
        api("certification").endorse(application_id, comment)
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        found = api("application").application(application_id)
        return form_page(
            "employer/application.html",
            ENDORSEMENT_LABELS,
            problem,
            application=found,
            **endorsement_of(found),
        )
    flash("Your recommendation is signed and shown with the student's credential. The student is told.", "success")
    return redirect(url_for("employer.application", application_id=application_id) + "#endorsement")
