"""Friendly HTML error pages: never a stack trace; an API's refusal the page did not expect becomes a sentence."""

from __future__ import annotations

import structlog
from flask import make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from services.web.auth import sign_in_again
from services.web.problems import ApiProblem

log = structlog.get_logger(__name__)

TITLES = {
    400: "Something in that request was not right",
    403: "You cannot see this page",
    404: "Page not found",
    405: "That is not something this page does",
    409: "That could not be done now",
    413: "That upload is too large",
    422: "That could not be done",
    429: "Too many tries",
    500: "Sorry, something went wrong on our side",
    503: "Sorry, this part of Stint is not answering",
}
EXPLANATIONS = {
    403: "Your account does not have access to this page. If you think it should, contact your organisation's admin.",
    404: "If you typed the web address, check it is correct. If you followed a link, the thing it pointed to may "
    "have been removed.",
    413: "Upload fewer or smaller files, then try again.",
    500: "Try again later. What you saved before this is safe.",
    503: "Try again in a minute. What you saved before this is safe.",
}


def error_page(status: int, message: str | None = None):
    """Render the error page for `status` with an optional sentence saying what happened."""
    shown = status if status in TITLES else (500 if status >= 500 else 400)
    return (
        render_template(
            "errors/error.html",
            status=shown,
            title=TITLES[shown],
            message=message or EXPLANATIONS.get(shown, ""),
        ),
        status,
    )


def too_many_tries(seconds: int, _limit: str):
    """The page for a visitor over a rate limit (the caller adds Retry-After)."""
    wait = "a second" if seconds == 1 else f"{seconds} seconds"
    return make_response(
        error_page(429, f"You have tried this many times in a short while. Wait {wait}, then try again.")
    )


def register_error_pages(app) -> None:
    """Route every error to a page."""

    @app.errorhandler(CSRFError)
    def csrf_failed(_exc):
        return error_page(
            400, "This form was open too long or was not sent from Stint. Go back, reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return error_page(exc.code or 500)

    @app.errorhandler(ApiProblem)
    def api_problem(problem: ApiProblem):
        if problem.status == 401:
            return sign_in_again()
        message = None if problem.status in (403, 404) or problem.status >= 500 else problem.said
        return error_page(problem.status if problem.status < 500 else 503, message)

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.error("unhandled_exception", exc_info=exc)
        return error_page(500)
