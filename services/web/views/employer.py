"""An employer's pages: the organisation, listings, applicants and the review of their work."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.templating import IST
from services.web.views.common import api, form_page, items, lines, number
from services.web.views.endorsements import endorsement_of

blp = Blueprint("employer", __name__, url_prefix="/employer")
ORG_LABELS = {
    "name": "your organisation's name",
    "website": "your organisation's website",
    "registration_id": "the company registration number",
}
INVITE_LABELS = {"email": "your colleague's email address"}
LISTING_LABELS = {
    "title": "a title",
    "summary": "a summary",
    "brief": "the brief",
    "deliverables": "what the student delivers",
    "skills": "the skills needed",
    "category": "the work domain",
    "duration_days": "how many days the project lasts",
    "effort_hours": "how many hours of work it takes",
    "stipend": "the stipend",
    "stipend.amount": "the stipend in rupees",
    "stipend.currency": "the stipend's currency",
    "seats": "how many students you will take",
    "apply_by": "the last day to apply",
    "screening_questions": "the screening questions",
}
REVIEW_LABELS = {
    "decision": "your decision",
    "feedback": "your feedback",
    "rating": "a rating from 1 to 5",
    "hours_verified": "the hours you verify",
    "skills_demonstrated": "the skills shown",
}
ACTIONS = {"shortlist": "shortlisted", "accept": "accepted", "reject": "rejected"}


def _org_id() -> str:
    return auth.current_person().org


def _registered_org(client) -> dict | None:
    """The person's organisation, or None when their account names one not registered yet (an interrupted
    registration: registering again finishes it)."""
    try:
        return client.org(_org_id())
    except ApiProblem as problem:
        if problem.status == 404:
            return None
        raise


@blp.get("")
@auth.signed_in("employer")
def home():
    """The organisation's listings, with seats left, and its verification status."""
    client = api("listing")
    org = _registered_org(client)
    if org is None:
        return redirect(url_for("employer.register_org"))
    page = client.my_listings(cursor=request.args.get("cursor"))
    return render_template("employer/home.html", org=org, page=page)


@blp.route("/organisation/register", methods=["GET", "POST"])
@auth.signed_in("employer", needs_org=False)
def register_org():
    """Register your organisation (one thing on the page), the first step for a new employer."""
    client = api("listing")
    if request.method == "GET":
        if auth.current_person().org and _registered_org(client) is not None:
            return redirect(url_for("employer.organisation"))
        return form_page("employer/register_org.html", ORG_LABELS)
    try:
        client.put_my_org(_org_body())
    except ApiProblem as problem:
        return form_page("employer/register_org.html", ORG_LABELS, problem)
    if not auth.current_person().org:  # the account got its organisation just now: the token must show it
        auth.refresh_tokens()
    flash("Your organisation is registered. A Stint admin will verify it before you can publish listings.", "success")
    return redirect(url_for("employer.home"))


def _org_body() -> dict:
    return {name: request.form.get(name, "").strip() for name in ORG_LABELS}


@blp.route("/organisation", methods=["GET", "POST"])
@auth.signed_in("employer")
def organisation():
    """The organisation's profile and status; change the profile."""
    client = api("listing")
    org = _registered_org(client)
    if org is None:
        return redirect(url_for("employer.register_org"))
    invitations = client.invitations()
    if request.method == "GET":
        return form_page(
            "employer/organisation.html", ORG_LABELS, org=org, values=org, invite_values={}, invitations=invitations
        )
    try:
        org = client.put_my_org(_org_body())
    except ApiProblem as problem:
        return form_page(
            "employer/organisation.html", ORG_LABELS, problem, org=org, invite_values={}, invitations=invitations
        )
    flash("Your organisation's profile is saved.", "success")
    return redirect(url_for("employer.organisation"))


@blp.post("/organisation/invitations")
@auth.signed_in("employer")
def invite():
    """Invite a colleague by email to join the organisation."""
    client = api("listing")
    email = request.form.get("email", "").strip()
    try:
        invitation = client.invite(email)
    except ApiProblem as problem:
        org = client.org(_org_id())
        return form_page(
            "employer/organisation.html",
            INVITE_LABELS,
            problem,
            org=org,
            values=org,
            invite_values={"email": email},
            invitations=client.invitations(),
        )
    link = _settings_web_url() + url_for("account.invitation", invitation_id=invitation["id"])
    return render_template("employer/invited.html", invitation=invitation, link=link)


# ---- listings ----------------------------------------------------------------------------------


def _listing_body(form) -> dict:
    return {
        "title": form.get("title", ""),
        "summary": form.get("summary", ""),
        "brief": form.get("brief", ""),
        "deliverables": lines(form.get("deliverables")),
        "skills": items(form.get("skills")),
        "category": form.get("category", ""),
        "duration_days": number(form.get("duration_days")),
        "effort_hours": number(form.get("effort_hours")),
        "stipend": {"amount": (form.get("stipend_amount") or "").strip().replace(",", ""), "currency": "INR"},
        "seats": number(form.get("seats")),
        "apply_by": form.get("apply_by", "").strip(),  # a plain date: the API reads it as that day's end in IST
        "screening_questions": lines(form.get("screening_questions")),
    }


def _listing_values(listing: dict) -> dict:
    """A listing as its form shows it."""
    apply_by = ""
    if listing.get("apply_by"):
        apply_by = datetime.fromisoformat(listing["apply_by"]).astimezone(IST).date().isoformat()
    return {
        **{key: listing.get(key, "") for key in ("title", "summary", "brief", "category")},
        "deliverables": "\n".join(listing.get("deliverables") or []),
        "skills": ", ".join(listing.get("skills") or []),
        "duration_days": listing.get("duration_days", ""),
        "effort_hours": f"{listing['effort_hours']:g}" if listing.get("effort_hours") else "",
        "stipend_amount": (listing.get("stipend") or {}).get("amount", ""),
        "seats": listing.get("seats", ""),
        "apply_by": apply_by,
        "screening_questions": "\n".join(listing.get("screening_questions") or []),
    }


@blp.route("/listings/new", methods=["GET", "POST"])
@auth.signed_in("employer")
def new_listing():
    """Write a draft listing."""
    if request.method == "GET":
        return form_page("employer/listing_form.html", LISTING_LABELS, listing=None, values={})
    try:
        created = api("listing").create_listing(_listing_body(request.form))
    except ApiProblem as problem:
        return form_page("employer/listing_form.html", LISTING_LABELS, problem, listing=None)
    flash("Your draft is saved. Check it, then publish it when you are ready.", "success")
    return redirect(url_for("employer.listing", listing_id=created["id"]))


@blp.get("/listings/<listing_id>")
@auth.signed_in("employer")
def listing(listing_id):
    """One of the organisation's listings: its state, seats left, and what can be done with it."""
    found = api("listing").listing(listing_id)
    return render_template("employer/listing.html", listing=found)


@blp.route("/listings/<listing_id>/edit", methods=["GET", "POST"])
@auth.signed_in("employer")
def edit_listing(listing_id):
    """Change a draft or published listing."""
    client = api("listing")
    found = client.listing(listing_id)
    if request.method == "GET":
        return form_page("employer/listing_form.html", LISTING_LABELS, listing=found, values=_listing_values(found))
    try:
        client.edit_listing(listing_id, _listing_body(request.form))
    except ApiProblem as problem:
        return form_page("employer/listing_form.html", LISTING_LABELS, problem, listing=found)
    flash("Your changes are saved.", "success")
    return redirect(url_for("employer.listing", listing_id=listing_id))


@blp.post("/listings/<listing_id>/<any(publish, close):action>")
@auth.signed_in("employer")
def change_listing(listing_id, action):
    """Publish a draft, or close a published listing to new applications."""
    client = api("listing")
    try:
        getattr(client, action)(listing_id)
    except ApiProblem as problem:
        if problem.status >= 500 or problem.status == 404:
            raise
        found = client.listing(listing_id)
        return form_page("employer/listing.html", {}, problem, listing=found)
    flash("Your listing is published." if action == "publish" else "Your listing is closed.", "success")
    return redirect(url_for("employer.listing", listing_id=listing_id))


# ---- applicants and their work -----------------------------------------------------------------


@blp.get("/listings/<listing_id>/applicants")
@auth.signed_in("employer")
def applicants(listing_id):
    """Who applied to a listing, filtered by where they stand."""
    found = api("listing").listing(listing_id)
    status = request.args.get("status") or None
    page = api("application").applications(listing_id=listing_id, status=status, cursor=request.args.get("cursor"))
    return render_template("employer/applicants.html", listing=found, page=page, status=status)


@blp.get("/applications/<application_id>")
@auth.signed_in("employer")
def application(application_id):
    """One applicant: cover note, answers, history, submitted work; shortlist, accept, reject or review."""
    found = api("application").application(application_id)
    return form_page("employer/application.html", REVIEW_LABELS, application=found, values={}, **endorsement_of(found))


@blp.post("/applications/<application_id>/<any(shortlist, accept, reject):action>")
@auth.signed_in("employer")
def decide(application_id, action):
    """Shortlist, accept or reject an applicant."""
    client = api("application")
    try:
        updated = client.act(application_id, action, request.form.get("note", "").strip())
    except ApiProblem as problem:
        if problem.status >= 500 or problem.status == 404:
            raise
        found = client.application(application_id)
        return form_page("employer/application.html", REVIEW_LABELS, problem, application=found, values={})
    flash(f"{updated['student']['name'] or 'The applicant'} is {ACTIONS[action]}.", "success")
    return redirect(url_for("employer.application", application_id=application_id))


@blp.post("/applications/<application_id>/review")
@auth.signed_in("employer")
def review(application_id):
    """Approve the submitted work (hours, rating, skills, feedback), ask for changes, or reject it."""
    client = api("application")
    form = request.form
    body = {"decision": form.get("decision", ""), "feedback": form.get("feedback", "")}
    if body["decision"] == "approve":
        body.update(
            rating=number(form.get("rating")),
            hours_verified=number(form.get("hours_verified")),
            skills_demonstrated=items(form.get("skills_demonstrated")),
        )
    try:
        client.review(application_id, body)
    except ApiProblem as problem:
        found = client.application(application_id)
        return form_page("employer/application.html", REVIEW_LABELS, problem, application=found)
    done = {
        "approve": "approved: the student's credential is on its way",
        "request_changes": "sent back for changes",
        "reject": "rejected",
    }
    flash(f"The work is {done.get(body['decision'], 'reviewed')}.", "success")
    return redirect(url_for("employer.application", application_id=application_id))


def _settings_web_url() -> str:
    return current_app.extensions["stint_web_settings"].web_url
