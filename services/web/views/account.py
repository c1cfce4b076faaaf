"""Pages about the person themselves: choosing a role, joining an organisation, the inbox, notification settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page

blp = Blueprint("account", __name__)
ROLE_LABELS = {"role": "whether you are a student or an employer"}
CHANNELS = {
    "in_app": "In your Stint inbox",
    "email": "By email",
    "webhook": "To your organisation's webhooks",
}


@blp.route("/welcome", methods=["GET", "POST"])
def choose_role():
    """Are you a student or an employer? (asked once, on first sign-in)."""
    person = auth.current_person()
    if person is None:
        raise auth.SignInRequired()
    if person.role:
        return redirect(auth.landing_page(person))
    if request.method == "GET":
        return form_page("account/choose_role.html", ROLE_LABELS)
    role = request.form.get("role", "")
    if role not in ("student", "employer"):
        message = "Select whether you are a student or an employer."
        errors, summary = {"role": message}, [("role", message)]
        return render_template("account/choose_role.html", errors=errors, summary=summary, values={}), 400
    try:
        api("listing").choose_role(role)
    except ApiProblem as problem:
        if problem.status != 409:  # 409: a role was set meanwhile (another tab); the refreshed token shows it
            return form_page("account/choose_role.html", ROLE_LABELS, problem)
    auth.refresh_tokens()
    person = auth.current_person()
    if person.role == "student":
        flash("Welcome to Stint. Find a project below and apply.", "success")
    return redirect(auth.landing_page(person))


@blp.route("/invitations/<invitation_id>", methods=["GET", "POST"])
def invitation(invitation_id):
    """Join an organisation you were invited to."""
    person = auth.current_person()
    if person is None:
        raise auth.SignInRequired()
    if request.method == "GET":
        return render_template("account/invitation.html", invitation_id=invitation_id, errors={}, summary=[])
    try:
        api("listing").accept_invitation(invitation_id)
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return form_page("account/invitation.html", {}, problem, invitation_id=invitation_id)
    auth.refresh_tokens()
    flash("You have joined the organisation.", "success")
    return redirect(url_for("employer.home"))


@blp.get("/inbox")
@auth.signed_in()
def inbox():
    """The person's notifications (and their organisation's), newest first."""
    unread_only = request.args.get("unread") == "1"
    page = api("notification").inbox(unread=unread_only, cursor=request.args.get("cursor"))
    return render_template("account/inbox.html", page=page, unread_only=unread_only)


@blp.post("/inbox/<entry_id>/read")
@auth.signed_in()
def mark_read(entry_id):
    """Mark one notification read, then follow its link if it has one on this site."""
    entry = api("notification").mark_read(entry_id)
    target = auth.safe_next(entry.get("link")) if request.form.get("open") else None
    return redirect(target or url_for("account.inbox"))


@blp.route("/account/notifications", methods=["GET", "POST"])
@auth.signed_in()
def preferences():
    """Which ways the person hears from Stint."""
    client = api("notification")
    if request.method == "POST":
        body = {name: request.form.get(name) == "on" for name in CHANNELS}
        try:
            client.set_preferences(body)
        except ApiProblem as problem:
            return form_page("account/preferences.html", CHANNELS, problem, channels=CHANNELS, current=body)
        flash("Your notification settings are saved.", "success")
        return redirect(url_for("account.preferences"))
    return form_page("account/preferences.html", CHANNELS, channels=CHANNELS, current=client.preferences())


@blp.get("/account")
@auth.signed_in()
def details():
    """The person's account: who they are signed in as, and where to change it."""
    return render_template("account/details.html")
