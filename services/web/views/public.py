"""Pages for anyone: search listings, read one, verify a credential."""

from __future__ import annotations

import json
import re

from flask import Blueprint, redirect, render_template, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page

blp = Blueprint("public", __name__)
FILTERS = ("q", "category", "skill", "max_days", "min_stipend")
FILTER_LABELS = {
    "q": "the search words",
    "category": "the work domain",
    "skill": "the skill",
    "max_days": "the longest duration",
    "min_stipend": "the minimum stipend",
}
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_CREDENTIAL_BYTES = 1024 * 1024


@blp.get("/")
def home():
    """Published listings, searched and filtered, newest first."""
    filters = {name: request.args.get(name, "").strip() for name in FILTERS}
    try:
        page = api("listing", public=True).search(filters, request.args.get("cursor"))
    except ApiProblem as problem:
        if problem.status >= 500 or problem.status in (401, 403):
            raise
        return form_page("public/home.html", FILTER_LABELS, problem, values=filters, page=None, filters=filters)
    return form_page("public/home.html", FILTER_LABELS, values=filters, page=page, filters=filters)


@blp.get("/listings/<listing_id>")
def listing(listing_id):
    """One listing: its brief, stipend, seats left and how to apply."""
    found = api("listing", public=True).listing(listing_id)
    person = auth.current_person()
    own = bool(person and person.role == "employer" and person.org == found.get("org_id"))
    return render_template("public/listing.html", listing=found, own=own)


@blp.route("/verify", methods=["GET", "POST"])
def verify():
    """Check a credential: paste its link or id, or upload its JSON file."""
    if request.method == "GET":
        return render_template("public/verify.html", errors={}, summary=[], values={})
    upload = request.files.get("credential_file")
    if upload and upload.filename:
        return _verify_upload(upload)
    typed = request.form.get("credential", "").strip()
    found = UUID.search(typed)
    if not found:
        message = "Enter the credential's link or id, like urn:uuid:1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed."
        if not typed:
            message = "Enter the credential's link or id, or choose its file."
        errors = {"credential": message}
        summary = [("credential", message)]
        return render_template("public/verify.html", errors=errors, summary=summary, values=request.form), 400
    return redirect(url_for("public.verification", credential_id=found.group(0).lower()))


def _verify_upload(upload):
    raw = upload.read(MAX_CREDENTIAL_BYTES + 1)
    try:
        if len(raw) > MAX_CREDENTIAL_BYTES:
            raise ValueError("too large")
        credential = json.loads(raw)
        if not isinstance(credential, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError):
        message = "The file must be a credential's JSON file (as Stint gives it), under 1 MB."
        errors, summary = {"credential_file": message}, [("credential_file", message)]
        return render_template("public/verify.html", errors=errors, summary=summary, values={}), 400
    result = api("certification", public=True).verify(credential)
    name = credential.get("name") or (credential.get("credentialSubject") or {}).get("achievement", {}).get("name")
    return render_template("public/verified_upload.html", result=result, name=name, filename=upload.filename)


@blp.get("/verify/<credential_id>")
def verification(credential_id):
    """A credential's verification: genuine, unaltered, not revoked, with each check."""
    if not UUID.fullmatch(credential_id):
        return render_template("public/verification.html", unknown=True, credential_id=credential_id), 404
    try:
        result = api("certification", public=True).verification(credential_id)
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        return render_template("public/verification.html", unknown=True, credential_id=credential_id), 404
    return render_template("public/verification.html", unknown=False, result=result, credential_id=credential_id)


@blp.get("/portfolios/<handle>")
def portfolio(handle):
    """A student's published portfolio: their verified credentials and work samples (the same page as unknown until
    they publish it)."""
    try:
        found = api("certification", public=True).portfolio(handle)
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        return render_template("public/portfolio.html", portfolio=None), 404
    return render_template("public/portfolio.html", portfolio=found)
