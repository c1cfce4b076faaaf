"""What every page does the same way: call an API as the person, read a form into an API body, show its errors."""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template, request

from services.web import auth
from services.web.clients import client
from services.web.problems import ApiProblem


def api(service: str, public: bool = False):
    """The service's client, calling with the signed-in person's token (anonymously when nobody is signed in).

    `public`: a page anyone may see stays open when the person's sign-in has lapsed; it is shown as to anyone.
    """
    try:
        token = auth.access_token()
    except auth.SignInRequired:
        if not public:
            raise
        token = None
    return client(service, token)


def lines(text: str | None) -> list[str]:
    """The non-empty lines of a textarea (one item per line)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def items(text: str | None) -> list[str]:
    """Items typed one per line or separated by commas."""
    return [part.strip() for line in lines(text) for part in line.split(",") if part.strip()]


def number(text: str | None):
    """A typed number as a JSON number; text that is not one goes to the API as typed, which says what is wrong."""
    value = (text or "").strip()
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def form_page(template: str, labels: Mapping[str, str], problem: ApiProblem | None = None, status: int = 200, **ctx):
    """Render a form page; with an API's refusal, the error summary on top and each field's sentence beside it."""
    errors, summary = {}, []
    if problem is not None:
        errors, summary = page_errors(problem, labels)
        status = 400 if problem.status < 500 else 503
    values = ctx.pop("values", None)
    if values is None:
        values = request.form
    return render_template(template, errors=errors, summary=summary, values=values, **ctx), status


def page_errors(problem: ApiProblem, labels: Mapping[str, str]) -> tuple[dict[str, str], list]:
    """The sentence beside each field (a nested one, like skills.2, also beside its field) and the summary: links
    to the fields first, then what concerns no field."""
    errors = problem.field_errors(labels)
    summary: list = []
    for name, message in list(errors.items()):
        root = name.split(".")[0]
        if root != name and root in labels:
            errors.setdefault(root, message)
        anchor = name if name in labels or root not in labels else root
        if message not in [text for _name, text in summary]:
            summary.append((anchor, message))
    message = problem.said
    if (not summary or not problem.is_validation) and message not in [text for _name, text in summary]:
        summary.insert(0, message)
    return errors, summary
