"""A university registrar's pages: the university's profile, credit requests, credit policy, verify one or many
credentials, credit decisions and export."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page, number

blp = Blueprint("university", __name__, url_prefix="/university")
PROFILE_LABELS = {"name": "your university's name", "aishe_code": "its AISHE code", "website": "its website"}
QUEUE_ON_DESK = 10  # open requests shown on the desk; the requests page has them all
POLICY_LABELS = {"hours_per_credit": "hours of work per credit", "min_hours": "the fewest hours you accept"}
DECISION_LABELS = {
    "decision": "your decision",
    "credits_awarded": "the credits awarded",
    "course_code": "the course code",
    "term": "the term",
    "note": "a note",
}
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
OPEN_REQUESTS_SCANNED = 100  # the API's largest page
MAX_BATCH = 500
MAX_FILE_BYTES = 1024 * 1024


@blp.get("")
@auth.signed_in("university")
def home():
    """The registrar's desk: the university's status, the requests waiting, the policy, and the latest decisions."""
    client = api("certification")
    return render_template(
        "university/home.html",
        university=_my_university(client),
        waiting=client.credit_requests(status="open", limit=QUEUE_ON_DESK),
        policy=client.policy(),
        page=client.decisions(cursor=request.args.get("cursor")),
    )


def _my_university(client) -> dict | None:
    """The registrar's university as the API shows it, or None before its profile is saved."""
    try:
        return client.university(auth.current_person().org)
    except ApiProblem as problem:
        if problem.status == 404:
            return None
        raise


@blp.route("/profile", methods=["GET", "POST"])
@auth.signed_in("university")
def profile():
    """Register the university (name, AISHE code, website) or change its profile; it shows its status."""
    client = api("certification")
    university = _my_university(client)
    if request.method == "GET":
        return form_page("university/profile.html", PROFILE_LABELS, values=university or {}, university=university)
    body = {name: request.form.get(name, "").strip() for name in PROFILE_LABELS}
    try:
        saved = client.put_my_university(body)
    except ApiProblem as problem:
        return form_page("university/profile.html", PROFILE_LABELS, problem, university=university)
    if university is None:
        flash(f"{saved['name']} is registered. A Stint admin will verify it before you can decide credit.", "success")
    else:
        flash("Your university's profile is saved.", "success")
    return redirect(url_for("university.home"))


@blp.get("/requests")
@auth.signed_in("university")
def credit_requests():
    """The requests for credit students addressed to the university, by state, newest first."""
    status = request.args.get("status", "open")
    status = status if status in ("open", "accepted", "rejected", "all") else "open"
    page = api("certification").credit_requests(
        status=None if status == "all" else status, cursor=request.args.get("cursor")
    )
    return render_template("university/requests.html", page=page, status=status)


@blp.route("/policy", methods=["GET", "POST"])
@auth.signed_in("university")
def policy():
    """How many hours of work earn one credit, and the fewest hours accepted."""
    client = api("certification")
    if request.method == "GET":
        current = client.policy()
        values = {"hours_per_credit": f"{current['hours_per_credit']:g}", "min_hours": f"{current['min_hours']:g}"}
        return form_page("university/policy.html", POLICY_LABELS, values=values)
    body = {name: number(request.form.get(name)) for name in POLICY_LABELS}
    try:
        client.set_policy(body)
    except ApiProblem as problem:
        return form_page("university/policy.html", POLICY_LABELS, problem)
    flash("Your credit policy is saved.", "success")
    return redirect(url_for("university.home"))


@blp.route("/verify", methods=["GET", "POST"])
@auth.signed_in("university")
def verify_batch():
    """Verify many credentials at once: upload their JSON files, or paste their links or ids one per line."""
    if request.method == "GET":
        return render_template("university/verify_batch.html", errors={}, summary=[], values={}, results=None)
    entries, problems = [], []
    for upload in request.files.getlist("credential_files"):
        if not upload or not upload.filename:
            continue
        raw = upload.read(MAX_FILE_BYTES + 1)
        try:
            credential = json.loads(raw) if len(raw) <= MAX_FILE_BYTES else None
        except (ValueError, UnicodeDecodeError):
            credential = None
        if isinstance(credential, dict):
            entries.append((upload.filename, {"credential": credential}, _credential_uuid(credential)))
        else:
            problems.append(f"{upload.filename} is not a credential's JSON file.")
    for line in request.form.get("credential_ids", "").splitlines():
        found = UUID.search(line)
        if found:
            entries.append((line.strip(), {"id": found.group(0).lower()}, found.group(0).lower()))
        elif line.strip():
            problems.append(f"“{line.strip()[:80]}” is not a credential's link or id.")
    if not entries or len(entries) > MAX_BATCH:
        message = (
            f"Choose at most {MAX_BATCH} credentials at a time."
            if entries
            else "Choose credential files or paste links."
        )
        summary = problems + [message]
        return render_template(
            "university/verify_batch.html",
            errors={"credential_files": message},
            summary=summary,
            values=request.form,
            results=None,
        ), 400
    answer = api("certification").verify_batch([item for _name, item, _uid in entries])
    results = [(name, result, uid) for (name, _item, uid), result in zip(entries, answer["results"], strict=True)]
    return render_template(
        "university/verify_batch.html",
        errors={},
        summary=problems,
        values={},
        results=results,
        verified=sum(1 for _name, result, _uid in results if result["verified"]),
    )


@blp.route("/credentials/<credential_id>/decision", methods=["GET", "POST"])
@auth.signed_in("university")
def decide(credential_id):
    """Record the university's credit decision on one credential (after checking it)."""
    if not UUID.fullmatch(credential_id):
        return redirect(url_for("university.home"))
    cert = api("certification")
    page = {
        "verification": cert.verification(credential_id),
        "credential_id": credential_id,
        "credit_request": _open_request_about(cert, credential_id),
    }
    if request.method == "GET":
        return form_page("university/decide.html", DECISION_LABELS, **page)
    body = {
        "decision": request.form.get("decision", ""),
        "credits_awarded": number(request.form.get("credits_awarded") or "0"),
        "course_code": request.form.get("course_code", "").strip(),
        "term": request.form.get("term", "").strip(),
        "note": request.form.get("note", "").strip(),
    }
    try:
        cert.decide_credit(credential_id, body)
    except ApiProblem as problem:
        return form_page("university/decide.html", DECISION_LABELS, problem, **page)
    flash("Your decision is recorded.", "success")
    return redirect(url_for("university.home"))


def _open_request_about(cert, credential_id: str) -> dict | None:
    """The open request a student made about this credential (their note and APAAR id), when it is among the
    newest open requests; the API decides whether there is one."""
    wanted = f"urn:uuid:{credential_id.lower()}"
    for item in cert.credit_requests(status="open", limit=OPEN_REQUESTS_SCANNED).get("items", []):
        if item.get("credential_id", "").lower() == wanted:
            return item
    return None


@blp.get("/decisions.csv")
@auth.signed_in("university")
def export():
    """Accepted credits as a CSV file (for the Academic Bank of Credits)."""
    answer = api("certification").export_csv()
    return Response(
        answer.content,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="accepted-credits.csv"'},
    )


def _credential_uuid(credential: dict) -> str | None:
    """The uuid of a credential's `urn:uuid:` id, to link to its decision page."""
    found = UUID.search(str(credential.get("id", "")))
    return found.group(0).lower() if found else None
