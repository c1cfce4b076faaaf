"""A stipend's payment, on both sides: the employer records (or corrects) what was paid for approved work; the
student confirms it or disputes it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page
from services.web.views.student import application_page

blp = Blueprint("payments", __name__)
PAYMENT_LABELS = {
    "amount": "the amount paid",
    "currency": "the currency",
    "paid_on": "the day you paid",
    "reference": "the payment's reference",
}
DISPUTE_LABELS = {"reason": "what is wrong with the payment"}


@blp.post("/employer/applications/<application_id>/payment")
@auth.signed_in("employer")
def record_payment(application_id):
    """Record the stipend paid for approved work (again, to correct it until the student confirms)."""
    client = api("application")
    form = request.form
    body = {
        "amount": form.get("amount", "").strip().replace(",", ""),
        "paid_on": form.get("paid_on", "").strip(),  # a plain date: the API reads it as that day in IST
        "reference": form.get("reference", "").strip(),
    }
    try:
        client.record_payment(application_id, body)
    except ApiProblem as problem:
        found = client.application(application_id)
        return form_page("employer/application.html", PAYMENT_LABELS, problem, application=found)
    flash("The payment is recorded. The student is asked to confirm it.", "success")
    return redirect(url_for("employer.application", application_id=application_id))


@blp.post("/student/applications/<application_id>/payment/confirm")
@auth.signed_in("student")
def confirm_payment(application_id):
    """Confirm you received the stipend the employer recorded."""
    client = api("application")
    try:
        client.confirm_payment(application_id)
    except ApiProblem as problem:
        if problem.status >= 500 or problem.status == 404:
            raise
        return application_page(client.application(application_id), problem)
    flash("Thank you: the payment is confirmed.", "success")
    return redirect(url_for("student.application", application_id=application_id))


@blp.route("/student/applications/<application_id>/payment/dispute", methods=["GET", "POST"])
@auth.signed_in("student")
def dispute_payment(application_id):
    """Say the recorded payment is wrong (not received, or not the amount), and why."""
    client = api("application")
    found = client.application(application_id)
    if request.method == "GET":
        return form_page("student/dispute_payment.html", DISPUTE_LABELS, application=found)
    try:
        client.dispute_payment(application_id, request.form.get("reason", "").strip())
    except ApiProblem as problem:
        return form_page("student/dispute_payment.html", DISPUTE_LABELS, problem, application=found)
    flash("Your dispute is sent to the employer and to Stint's admins.", "success")
    return redirect(url_for("student.application", application_id=application_id))
