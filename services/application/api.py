"""HTTP views of the application service: parse, call a use case, return."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.application import applications, applying, decisions, payments, work
from services.application.domain import MAX_PERSON_ID, Actor
from services.application.schemas import (
    ActionRequestSchema,
    ApplicationPageSchema,
    ApplicationQuerySchema,
    ApplicationSchema,
    ApplyRequestSchema,
    DisputeRequestSchema,
    PaymentRequestSchema,
    ReviewRequestSchema,
    SubmissionRequestSchema,
)
from shared import web
from shared.auth import current_principal, require
from shared.errors import Unauthorized
from shared.web import current_db, traceparent

blp = Blueprint(
    "applications",
    __name__,
    url_prefix="/applications",
    description="Apply to listings, move applications through their states, submit and review work",
)
ERROR_MEANINGS = {
    400: "bad request (e.g. a cursor we did not make)",
    401: "no valid bearer token",
    403: "the token's role may not do this",
    404: "no such application, or not one the caller may see",
    409: "the application's state or the listing's rules refuse the action",
    422: "the body or query did not validate, or breaks a rule about its content",
}


def documents_errors(*statuses: int):
    """Document the error responses (one JSON shape) a view can give."""
    return web.documents_errors(blp, ERROR_MEANINGS, *statuses)


def _limits():
    return current_app.extensions["stint_application_limits"]


def _actor() -> Actor:
    principal = current_principal()
    if len(principal.sub) > MAX_PERSON_ID:  # events could not name this person
        raise Unauthorized("the token's subject is too long", code="invalid_token")
    return Actor(principal.sub, principal.role, principal.org, principal.name, principal.email)


def _shown(app: dict) -> dict:
    """The application as its readers see it (highlighted credentials say whether they are still verified)."""
    return applications.shown(current_db(), app)


# Request schemas are passed to @blp.arguments as instances, made once: given a class, webargs builds a new schema
# for every request (marshmallow copies each declared field), which cost about 0.25 ms of a 4 ms apply.
@blp.route("")
class Applications(MethodView):
    @require("student")
    @blp.arguments(ApplyRequestSchema())
    @blp.response(201, ApplicationSchema)
    @documents_errors(401, 403, 409, 422)
    def post(self, body):
        """Apply to a published listing (student), highlighting earlier credentials; the application starts
        `applied`."""
        return applying.apply(
            current_db(),
            _limits(),
            _actor(),
            body["listing_id"],
            body["cover_note"],
            body["answers"],
            traceparent(),
            body["credential_ids"],
        )

    @require("student", "employer")
    @blp.arguments(ApplicationQuerySchema(), location="query", unknown=ma.RAISE)  # a typo'd filter is not ignored
    @blp.response(200, ApplicationPageSchema)
    @documents_errors(400, 401, 403, 422)
    def get(self, query):
        """List applications: a student's own, or those to the employer's organisation's listings."""
        return applications.list_applications(
            current_db(), _actor(), query.get("listing_id"), query.get("status"), query["limit"], query["cursor"]
        )


@blp.route("/<uuid:application_id>")
class ApplicationById(MethodView):
    @require("student", "employer")
    @blp.response(200, ApplicationSchema)
    @documents_errors(401, 403, 404)
    def get(self, application_id: uuid.UUID):
        """One application (its student, or the employer of its listing's organisation)."""
        return _shown(applications.get_application(current_db(), _actor(), str(application_id)))


def _action_view(action, role: str, summary: str):
    """A POST view that moves an application by one step of its state machine."""

    @require(role)
    @blp.arguments(ActionRequestSchema(), required=False)
    @blp.response(200, ApplicationSchema)
    @documents_errors(401, 403, 404, 409, 422)
    def view(body, application_id: uuid.UUID):
        return _shown(action(current_db(), _actor(), str(application_id), (body or {}).get("note", ""), traceparent()))

    view.__doc__ = summary
    view.__name__ = action.__name__
    return view


for _name, _action, _role, _summary in (
    ("shortlist", decisions.shortlist, "employer", "Shortlist an applicant (employer of the listing's organisation)."),
    ("accept", decisions.accept, "employer", "Accept an applicant into a seat; 409 no_seats_left when none remain."),
    ("reject", decisions.reject, "employer", "Reject an applicant before work is submitted; frees a held seat."),
    ("withdraw", decisions.withdraw, "student", "Withdraw one's own application; frees a held seat."),
):
    blp.route(f"/<uuid:application_id>/{_name}", methods=["POST"], endpoint=_name)(
        _action_view(_action, _role, _summary)
    )


@blp.route("/<uuid:application_id>/submissions", methods=["POST"])
@require("student")
@blp.arguments(SubmissionRequestSchema())
@blp.response(201, ApplicationSchema)
@documents_errors(401, 403, 404, 409, 422)
def submit_work(body, application_id: uuid.UUID):
    """Submit a round of work (the accepted student): links, notes, hours; 201, the application now `submitted`."""
    return _shown(
        work.submit_work(
            current_db(),
            _actor(),
            str(application_id),
            body["links"],
            body["notes"],
            body["hours_spent"],
            traceparent(),
        )
    )


@blp.route("/<uuid:application_id>/review", methods=["POST"])
@require("employer")
@blp.arguments(ReviewRequestSchema())
@blp.response(200, ApplicationSchema)
@documents_errors(401, 403, 404, 409, 422)
def review_work(body, application_id: uuid.UUID):
    """Review the latest submitted round (employer of the listing's organisation): approve, request changes, reject."""
    return _shown(work.review_work(current_db(), _limits(), _actor(), str(application_id), body, traceparent()))


@blp.route("/<uuid:application_id>/payment", methods=["POST"])
@require("employer")
@blp.arguments(PaymentRequestSchema())
@blp.response(200, ApplicationSchema)
@documents_errors(401, 403, 404, 409, 422)
def record_payment(body, application_id: uuid.UUID):
    """Record the stipend paid for approved work (employer of the listing's organisation); again to correct it,
    until the student confirms."""
    return _shown(payments.record_payment(current_db(), _actor(), str(application_id), body, traceparent()))


@blp.route("/<uuid:application_id>/payment/confirm", methods=["POST"])
@require("student")
@blp.response(200, ApplicationSchema)
@documents_errors(401, 403, 404, 409)
def confirm_payment(application_id: uuid.UUID):
    """Confirm receiving the recorded payment (the application's student); this also settles a dispute."""
    return _shown(payments.confirm_payment(current_db(), _actor(), str(application_id), traceparent()))


@blp.route("/<uuid:application_id>/payment/dispute", methods=["POST"])
@require("student")
@blp.arguments(DisputeRequestSchema())
@blp.response(200, ApplicationSchema)
@documents_errors(401, 403, 404, 409, 422)
def dispute_payment(body, application_id: uuid.UUID):
    """Dispute the recorded payment with a reason (the application's student); the organisation and admins hear."""
    return _shown(payments.dispute_payment(current_db(), _actor(), str(application_id), body["reason"], traceparent()))
