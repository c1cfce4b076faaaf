"""An admin's pages: verify organisations and universities, grant roles, revoke credentials, rotate and revoke
signing keys, and the platform's health."""

from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from services.web import auth
from services.web.clients import CLIENTS, client
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page
from services.web.worker_status import worker_status

blp = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_LABELS = {"user_id": "the person's user id", "role": "the role", "org": "the organisation or university id"}
KEY_LABELS = {"reason": "why the key is revoked"}
REVOKE_LABELS = {"credential_id": "the credential's link or id", "reason": "the reason"}
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ROLES = ("student", "employer", "university", "admin")


@blp.get("")
@auth.signed_in("admin")
def home():
    """What an admin can do, with each service's readiness."""
    return render_template("admin/home.html", health=_health())


def _health() -> list[dict]:
    """Each service's api and worker: ready or not (their /readyz in words), and the worker's consumer lag, dead
    letters and outbox backlog."""
    settings = current_app.extensions["stint_web_settings"]
    rows = []
    for name in CLIENTS:
        if name not in settings.service_urls:
            continue
        ready, said = client(name, None).ready()
        worker = worker_status(settings.worker_urls[name]) if name in settings.worker_urls else None
        rows.append(
            {
                "name": name,
                "ready": ready,
                "said": readiness_words(said),
                "worker": worker,
                "worker_said": readiness_words(worker.readiness) if worker else "",
            }
        )
    return rows


def readiness_words(said: str) -> str:
    """A /readyz answer as words: "database ok · broker ok" (its checks), or what it said when that is not JSON."""
    try:
        answer = json.loads(said)
    except ValueError:
        return said
    if not isinstance(answer, dict):
        return said
    checks = answer.get("checks") or (answer.get("error") or {}).get("details")  # ready, or the 503's details
    if isinstance(checks, dict) and checks:
        return " · ".join(f"{dependency} {state}" for dependency, state in checks.items())
    return str(answer.get("status") or (answer.get("error") or {}).get("message") or said)


@blp.get("/organisations")
@auth.signed_in("admin")
def organisations():
    """Organisations waiting for verification (or those verified), newest first."""
    status = "verified" if request.args.get("status") == "verified" else "pending"
    page = api("listing").orgs(status, cursor=request.args.get("cursor"))
    return render_template("admin/organisations.html", page=page, status=status)


@blp.post("/organisations/<org_id>/verify")
@auth.signed_in("admin")
def verify_org(org_id):
    """Mark an organisation verified, so it can publish listings."""
    org = api("listing").verify_org(org_id)
    flash(f"{org['name']} is verified and can publish listings.", "success")
    return redirect(url_for("admin.organisations"))


@blp.get("/universities")
@auth.signed_in("admin")
def universities():
    """Universities waiting for verification (or those verified), newest first."""
    status = "verified" if request.args.get("status") == "verified" else "pending"
    page = api("certification").universities(status, cursor=request.args.get("cursor"))
    return render_template("admin/universities.html", page=page, status=status)


@blp.post("/universities/<university_id>/verify")
@auth.signed_in("admin")
def verify_university(university_id):
    """Mark a university verified, so students can ask it for credit and its registrars can decide."""
    university = api("certification").verify_university(university_id)
    flash(f"{university['name']} is verified: students can ask it for credit.", "success")
    return redirect(url_for("admin.universities"))


@blp.route("/roles", methods=["GET", "POST"])
@auth.signed_in("admin")
def roles():
    """Grant a person a role: a university registrar (with their university) or another admin."""
    if request.method == "GET":
        return form_page("admin/roles.html", ROLE_LABELS, roles=ROLES)
    user_id, role, org = (request.form.get(name, "").strip() for name in ("user_id", "role", "org"))
    try:
        api("listing").grant_role(user_id, role, org or None)
    except ApiProblem as problem:
        return form_page("admin/roles.html", ROLE_LABELS, problem, roles=ROLES)
    flash(f"The {role} role is granted. It applies the next time they sign in.", "success")
    return redirect(url_for("admin.roles"))


@blp.route("/keys", methods=["GET", "POST"])
@auth.signed_in("admin")
def keys():
    """The issuer's signing keys; make a new current one (credentials signed before keep verifying)."""
    client = api("certification")
    if request.method == "POST":
        key = client.rotate_key()
        flash(
            f"Credentials are now signed with the new key {key['id']}. Those signed before keep verifying.", "success"
        )
        return redirect(url_for("admin.keys"))
    return render_template("admin/keys.html", keys=[_key_name(key["id"]) for key in client.issuer_keys()])


def _key_name(method_id: str) -> str:
    """A key's name (key-3) from its id in the DID document (did:web:…#key-3)."""
    return method_id.rsplit("#", 1)[-1]


@blp.route("/keys/<key_id>/revoke", methods=["GET", "POST"])
@auth.signed_in("admin")
def revoke_key(key_id):
    """Distrust a compromised signing key (asks first, with the reason): what it signed is re-issued."""
    if request.method == "GET":
        return form_page("admin/revoke_key.html", KEY_LABELS, key_id=key_id)
    try:
        api("certification").revoke_key(key_id, request.form.get("reason", "").strip())
    except ApiProblem as problem:
        return form_page("admin/revoke_key.html", KEY_LABELS, problem, key_id=key_id)
    flash(
        f"{key_id} is revoked: nothing it signed verifies any more. Stint is re-issuing those credentials under the "
        "current key, and each student is told.",
        "success",
    )
    return redirect(url_for("admin.keys"))


@blp.route("/revoke", methods=["GET", "POST"])
@auth.signed_in("admin")
def revoke():
    """Revoke a credential, with the reason verifiers will see."""
    if request.method == "GET":
        return form_page("admin/revoke.html", REVOKE_LABELS)
    found = UUID.search(request.form.get("credential_id", ""))
    if not found:
        message = "Enter the credential's link or id, like urn:uuid:1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed."
        problem = ApiProblem(422, "bad_id", message, {"credential_id": True})
        return form_page("admin/revoke.html", REVOKE_LABELS, problem)
    try:
        api("certification").revoke(found.group(0).lower(), request.form.get("reason", "").strip())
    except ApiProblem as problem:
        return form_page("admin/revoke.html", REVOKE_LABELS, problem)
    flash("The credential is revoked; its verification page now says so.", "success")
    return redirect(url_for("public.verification", credential_id=found.group(0).lower()))
