"""An organisation's webhooks (employers and universities): add, remove, and read each one's delivery log."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from services.web import auth
from services.web.problems import ApiProblem
from services.web.views.common import api, form_page
from shared.events import CATALOG

blp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
LABELS = {"url": "the address Stint calls", "secret": "the signing secret", "event_types": "which events to send"}
EVENT_TYPES = ["*", *sorted(CATALOG)]


@blp.route("", methods=["GET", "POST"])
@auth.signed_in("employer", "university")
def index():
    """The organisation's endpoints, and a form to add one."""
    client = api("notification")
    if request.method == "POST":
        body = {
            "url": request.form.get("url", "").strip(),
            "secret": request.form.get("secret", ""),
            "event_types": request.form.getlist("event_types"),
        }
        try:
            client.create_webhook(body)
        except ApiProblem as problem:
            page = client.webhooks()
            return form_page("webhooks/index.html", LABELS, problem, page=page, event_types=EVENT_TYPES)
        flash("The webhook is added. Stint signs every call with your secret (X-Stint-Signature).", "success")
        return redirect(url_for("webhooks.index"))
    page = client.webhooks(cursor=request.args.get("cursor"))
    return form_page("webhooks/index.html", LABELS, page=page, event_types=EVENT_TYPES, values={})


@blp.post("/<webhook_id>/delete")
@auth.signed_in("employer", "university")
def delete(webhook_id):
    """Remove an endpoint."""
    api("notification").delete_webhook(webhook_id)
    flash("The webhook is removed; nothing more will be sent to it.", "success")
    return redirect(url_for("webhooks.index"))


@blp.get("/<webhook_id>/deliveries")
@auth.signed_in("employer", "university")
def deliveries(webhook_id):
    """Every delivery to one endpoint, with each attempt's result."""
    page = api("notification").deliveries(webhook_id, cursor=request.args.get("cursor"))
    return render_template("webhooks/deliveries.html", page=page, webhook_id=webhook_id)
