"""A student's pages: apply, follow applications, submit work, withdraw, see credentials, edit the portfolio."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page, lines, number
from services.web.views.endorsements import endorsements_by_credential

blp = Blueprint("student", __name__, url_prefix="/student")
APPLY_LABELS = {
    "cover_note": "why you are a good fit (your cover note)",
    "answers": "an answer to every question",
    "credential_ids": "the credentials to show",
}
HIGHLIGHTABLE = 50  # the newest credentials offered to highlight
WORK_LABELS = {
    "links": "links to your work",
    "notes": "notes for the reviewer",
    "hours_spent": "the hours you spent",
}
WITHDRAWABLE = ("applied", "shortlisted", "accepted")
SUBMITTABLE = ("accepted", "changes_requested")


@blp.get("")
@auth.signed_in("student")
def home():
    """My applications, newest first, with where each stands."""
    status = request.args.get("status") or None
    page = api("application").applications(status=status, cursor=request.args.get("cursor"))
    return render_template("student/applications.html", page=page, status=status)


@blp.route("/apply/<listing_id>", methods=["GET", "POST"])
@auth.signed_in("student")
def apply(listing_id):
    """Apply to a listing: a cover note and an answer to each screening question."""
    listing = api("listing").listing(listing_id)
    labels = dict(APPLY_LABELS)
    questions = listing.get("screening_questions") or []
    for index, question in enumerate(questions):
        labels[f"answers.{index}"] = f"an answer to “{question}”"
    credentials = _highlightable_credentials()
    page = {"listing": listing, "questions": questions, "credentials": credentials}
    if request.method == "GET":
        return form_page("student/apply.html", labels, values={}, chosen=[], **page)
    answers = [request.form.get(f"answer-{index}", "") for index in range(len(questions))]
    chosen = request.form.getlist("credential_ids")
    body = {"listing_id": listing_id, "cover_note": request.form.get("cover_note", ""), "answers": answers}
    if chosen:
        body["credential_ids"] = chosen
    try:
        application = api("application").apply(body)
    except ApiProblem as problem:
        if problem.code == "answer_empty":  # the API names the blank answers by position: mark those fields
            problem.details.update({f"answers.{index}": True for index in problem.details.get("blank_answers", [])})
        if problem.code.startswith("credential_"):  # not yours, revoked, replaced: said beside the choice
            problem.details["credential_ids"] = True
        return form_page("student/apply.html", labels, problem, chosen=chosen, **page)
    flash(f"Your application to “{listing['title']}” has been sent.", "success")
    return redirect(url_for("student.application", application_id=application["id"]))


def _highlightable_credentials() -> list[dict]:
    """The student's credentials that still verify, newest first, to offer for highlighting."""
    page = api("certification").my_credentials(limit=HIGHLIGHTABLE)
    return [credential for credential in page.get("items", []) if not credential.get("revoked")]


@blp.get("/applications/<application_id>")
@auth.signed_in("student")
def application(application_id):
    """One application: its timeline, the work sent, the latest review, the payment, and what can be done next."""
    return application_page(api("application").application(application_id))


def application_page(found: dict, problem: ApiProblem | None = None):
    """The student's page of one application, with an API's refusal on top when there is one."""
    return form_page(
        "student/application.html",
        {},
        problem,
        values={},
        application=found,
        can_withdraw=found["status"] in WITHDRAWABLE,
        can_submit=found["status"] in SUBMITTABLE,
    )


@blp.route("/applications/<application_id>/withdraw", methods=["GET", "POST"])
@auth.signed_in("student")
def withdraw(application_id):
    """Withdraw an application (asks first)."""
    client = api("application")
    found = client.application(application_id)
    if request.method == "GET":
        return form_page("student/withdraw.html", {"note": "why"}, application=found)
    try:
        client.act(application_id, "withdraw", request.form.get("note", "").strip())
    except ApiProblem as problem:
        return form_page("student/withdraw.html", {"note": "why"}, problem, application=found)
    flash("Your application has been withdrawn.", "success")
    return redirect(url_for("student.application", application_id=application_id))


@blp.route("/applications/<application_id>/work", methods=["GET", "POST"])
@auth.signed_in("student")
def submit_work(application_id):
    """Send your work (or the changes asked for) for review."""
    client = api("application")
    found = client.application(application_id)
    if request.method == "GET":
        return form_page("student/submit_work.html", WORK_LABELS, application=found)
    body = {
        "links": lines(request.form.get("links")),
        "notes": request.form.get("notes", ""),
        "hours_spent": number(request.form.get("hours_spent")),
    }
    try:
        client.submit_work(application_id, body)
    except ApiProblem as problem:
        return form_page("student/submit_work.html", WORK_LABELS, problem, application=found)
    flash("Your work has been sent for review.", "success")
    return redirect(url_for("student.application", application_id=application_id))


@blp.get("/credentials")
@auth.signed_in("student")
def credentials():
    """My credentials: each with its certificate (PDF), verification link to share, LinkedIn link, and status."""
    page = api("certification").my_credentials(cursor=request.args.get("cursor"))
    endorsed = endorsements_by_credential(page["items"])
    return render_template("student/credentials.html", page=page, endorsements=endorsed)


# ---- portfolio ---------------------------------------------------------------------------------

PORTFOLIO_LABELS = {
    "handle": "your handle",
    "headline": "your headline",
    "published": "whether to publish",
    "credential_ids": "the credentials to show",
}
SAMPLE_FIELDS = ("title", "url", "description")
APPROVED_OFFERED = 20  # the newest approved applications whose links are suggested as work samples


@blp.route("/portfolio", methods=["GET", "POST"])
@auth.signed_in("student")
def portfolio():
    """My portfolio: a handle, a headline, the credentials and work samples to show, and whether anyone may see it."""
    cert = api("certification")
    offered = {"credentials": _highlightable_credentials(), "work_links": _approved_work_links()}
    if request.method == "GET":
        try:
            saved = cert.my_portfolio()
        except ApiProblem as problem:
            if problem.status != 404:
                raise
            saved = {}
        samples = [{key: sample.get(key, "") for key in SAMPLE_FIELDS} for sample in saved.get("work_samples", [])]
        return _portfolio_form(offered, saved, saved.get("credential_ids", []), samples)
    samples = sample_rows(request.form)
    filled = [(row, sample) for row, sample in enumerate(samples) if any(sample.values())]
    body = {
        "handle": request.form.get("handle", "").strip(),
        "headline": request.form.get("headline", "").strip(),
        "published": request.form.get("published") == "yes",
        "credential_ids": request.form.getlist("credential_ids"),
        "work_samples": [sample for _row, sample in filled],
    }
    try:
        saved = cert.save_portfolio(body)
    except ApiProblem as problem:
        refused = problem.details.get("work_samples")
        if isinstance(refused, dict):  # the API counts the samples it was sent; the page counts its rows
            rows = [str(row) for row, _sample in filled]
            problem.details["work_samples"] = {rows[int(k)] if k.isdigit() else k: v for k, v in refused.items()}
        if problem.code.startswith("credential_"):  # not yours, revoked, replaced: said beside the choice
            problem.details["credential_ids"] = True
        return _portfolio_form(offered, body, body["credential_ids"], samples, problem)
    where = "Anyone with its link can see it." if saved["published"] else "Only you can see it until you publish it."
    flash(f"Your portfolio is saved. {where}", "success")
    return redirect(url_for("student.portfolio"))


def _portfolio_form(offered: dict, portfolio: dict, chosen: list, samples: list, problem=None):
    """The portfolio form: its fields, the credentials to pick (offered["credentials"]), the work samples and one
    empty row to add one, with the links of approved work as suggestions (offered["work_links"])."""
    samples = [*samples, dict.fromkeys(SAMPLE_FIELDS, "")]
    labels, values = (
        dict(PORTFOLIO_LABELS),
        {
            "handle": portfolio.get("handle", ""),
            "headline": portfolio.get("headline", ""),
        },
    )
    for row, sample in enumerate(samples):
        for key, words in zip(SAMPLE_FIELDS, ("title", "link", "description"), strict=True):
            labels[f"work_samples.{row}.{key}"] = f"the {words} of work sample {row + 1}"
            values[f"sample-{row}-{key}"] = sample[key]
    return form_page(
        "student/portfolio.html",
        labels,
        problem,
        values=values,
        published=bool(portfolio.get("published")),
        public_url=url_for("public.portfolio", handle=portfolio["handle"]) if portfolio.get("url") else None,
        chosen=chosen,
        samples=samples,
        **offered,
    )


def _approved_work_links() -> list[dict]:
    """The links the student sent with work an employer approved, to suggest as work samples (none when the
    application service does not answer: the portfolio does not depend on it)."""
    try:
        page = api("application").applications(status="approved", limit=APPROVED_OFFERED)
    except ApiProblem:
        return []
    links: dict[str, str] = {}
    for application in page.get("items", []):
        approved = (application.get("submissions") or [{}])[-1]
        for link in approved.get("links", []):
            links.setdefault(link, application.get("listing_title", ""))
    return [{"url": url, "title": title} for url, title in links.items()]


def sample_rows(form) -> list[dict]:
    """The work sample rows typed in the form (sample-<n>-title, -url, -description), less those marked removed."""
    rows, row = [], 0
    while f"sample-{row}-url" in form:
        if not form.get(f"sample-{row}-remove"):
            rows.append({key: form.get(f"sample-{row}-{key}", "").strip() for key in SAMPLE_FIELDS})
        row += 1
    return rows


# ---- credit from a university ------------------------------------------------------------------

CREDIT_LABELS = {
    "university_id": "the university to ask",
    "apaar_id": "your APAAR id",
    "note": "a note for the registrar",
    "credential_id": "the credential",
}
UNIVERSITIES_OFFERED = 100  # verified universities in the list to choose from (the API's largest page)


@blp.route("/credentials/<credential_id>/credit", methods=["GET", "POST"])
@auth.signed_in("student")
def ask_credit(credential_id):
    """Ask a verified university for academic credit for one of your credentials."""
    cert = api("certification")
    page = {
        "credential": cert.verification(credential_id),
        "credential_id": credential_id,
        "universities": cert.universities(limit=UNIVERSITIES_OFFERED).get("items", []),
    }
    if request.method == "GET":
        return form_page("student/ask_credit.html", CREDIT_LABELS, values={}, **page)
    body = {
        "credential_id": f"urn:uuid:{credential_id}",
        "university_id": request.form.get("university_id", ""),
        "note": request.form.get("note", "").strip(),
    }
    apaar_id = "".join(request.form.get("apaar_id", "").split())  # typed in groups of four, as printed on the card
    if apaar_id:
        body["apaar_id"] = apaar_id
    try:
        created = cert.request_credit(body)
    except ApiProblem as problem:
        if problem.code in ("university_not_found", "university_not_verified"):
            problem.details["university_id"] = True  # said beside the choice of university
        return form_page("student/ask_credit.html", CREDIT_LABELS, problem, **page)
    flash(f"Your request is sent to {created['university_name']}. Its registrar will decide.", "success")
    return redirect(url_for("student.credit_requests"))


@blp.get("/credit-requests")
@auth.signed_in("student")
def credit_requests():
    """The credit you asked universities for, newest first, and where each request stands."""
    status = request.args.get("status") or None
    page = api("certification").credit_requests(status=status, cursor=request.args.get("cursor"))
    return render_template("student/credit_requests.html", page=page, status=status)
