"""What every template can use: the signed-in person, the inbox's unread count, dates in India time, money,
status names, and links to the next page of a list."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from flask import g, request, url_for

from services.web import auth
from services.web.clients import client
from services.web.problems import ApiProblem

IST = timezone(timedelta(hours=5, minutes=30), "IST")
STATUS_NAMES = {
    "applied": "Applied",
    "shortlisted": "Shortlisted",
    "accepted": "Accepted",
    "submitted": "Work submitted",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "rejected": "Not selected",
    "withdrawn": "Withdrawn",
    "draft": "Draft",
    "published": "Published",
    "closed": "Closed",
    "pending": "Waiting for verification",
    "verified": "Verified",
}
# A credit request's state, and a stipend payment's, as the student and the registrar read them.
CREDIT_STATES = {"open": "Waiting for a decision", "accepted": "Credit given", "rejected": "Credit refused"}
PAYMENT_STATES = {
    "recorded": "Paid, waiting for the student",
    "confirmed": "Paid and confirmed",
    "disputed": "Disputed",
}
# The work domains of DESIGN §3, shown until the listing service answers GET /categories (then its list is used).
FALLBACK_CATEGORIES = {
    "content": "Content writing and marketing",
    "data": "Data entry and research",
    "design": "Graphic design",
    "social": "Social media management",
    "testing": "Product testing and user research",
    "business": "Business analysis and strategy",
    "other": "Other",
}
# A verification check's name (the certification API's) in people's words; its message follows.
CHECK_NAMES = {
    "found": "Issued by Stint",
    "well_formed": "Made as a W3C credential",
    "issuer_key": "Signing key trusted",
    "signature": "Signed by Stint",
    "status": "Not revoked",
    "validity_window": "Within its validity dates",
}
ISO_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b")
UNREAD_SAMPLE = 50
BADGE_TIMEOUT_SECONDS = 2  # a slow inbox must not slow every page: the badge is left out instead
CATEGORIES_TTL_SECONDS = 300
_categories: dict = {"items": None, "at": 0.0}


def when(value, with_time: bool = True) -> str:
    """An ISO timestamp as people read it, in India Standard Time: "10 Dec 2026, 11:59 pm"."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:  # a calendar day ("2026-11-30") is that day wherever it is read
        moment = moment.replace(tzinfo=IST)
    moment = moment.astimezone(IST)
    day = f"{moment.day} {moment:%b %Y}"
    if not with_time:
        return day
    return f"{day}, {moment:%I:%M}".replace(", 0", ", ") + (" am" if moment.hour < 12 else " pm")


def days_in(text) -> str:
    """A sentence with its ISO dates said as days: "valid from 2026-11-30T10:00:00Z" → "valid from 30 Nov 2026"."""
    return ISO_MOMENT.sub(lambda found: when(found.group(0), False), str(text or ""))


def credits(value) -> str:
    """A number of credits as people say it: "1 credit", "1.5 credits"."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{value} credits"
    return f"{number:g} credit" + ("" if number == 1 else "s")


def check_name(name: str | None) -> str:
    """A verification check's name in people's words."""
    return CHECK_NAMES.get(name or "", (name or "").replace("_", " ").capitalize())


def check_message(message: str | None) -> str:
    """A verification check's message as a sentence, its dates said as days."""
    sentence = days_in(message).strip()
    if not sentence:
        return ""
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def money(stipend) -> str:
    """A stipend as "₹12,000" (or "Unpaid")."""
    if not stipend:
        return ""
    try:
        amount = Decimal(str(stipend.get("amount", "0")))
    except InvalidOperation:
        return str(stipend.get("amount"))
    if amount == 0:
        return "Unpaid"
    symbol = "₹" if stipend.get("currency", "INR") == "INR" else stipend.get("currency", "") + " "
    whole = amount == amount.to_integral_value()
    return f"{symbol}{amount:,.0f}" if whole else f"{symbol}{amount:,.2f}"


def status_name(status: str | None) -> str:
    """A state's name for people."""
    return STATUS_NAMES.get(status or "", (status or "").replace("_", " ").capitalize())


def page_url(next_cursor: str | None, **extra) -> str | None:
    """This page's URL with the same filters, at `next_cursor`."""
    if not next_cursor:
        return None
    args = {key: value for key, value in request.args.items() if key != "cursor" and value}
    args.update(extra)
    return url_for(request.endpoint, **(request.view_args or {}), **args, cursor=next_cursor)


def first_page_url() -> str | None:
    """This list's first page, when the person is further in."""
    if not request.args.get("cursor"):
        return None
    args = {key: value for key, value in request.args.items() if key != "cursor" and value}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def categories() -> dict[str, str]:
    """The work domains, code to label, as the listing service lists them (kept a few minutes per process)."""
    now = time.monotonic()
    if _categories["items"] is None or now - _categories["at"] > CATEGORIES_TTL_SECONDS:
        try:
            answer = client("listing", None).categories()
            _categories["items"] = {item["code"]: item["label"] for item in answer.get("items", [])}
        except ApiProblem:
            _categories["items"] = None
        _categories["at"] = now
    return _categories["items"] or FALLBACK_CATEGORIES


def unread_count() -> str | None:
    """How many unread notifications the person has ("50+" past the sample), or None when unknown."""
    if "unread" in g:
        return g.unread
    g.unread = None
    person = auth.current_person()
    if person and person.role:
        try:
            notification = client("notification", auth.access_token())
            page = notification.inbox(unread=True, limit=UNREAD_SAMPLE, timeout=BADGE_TIMEOUT_SECONDS)
            count = len(page.get("items", []))
            g.unread = f"{count}+" if page.get("next_cursor") else str(count)
        except (ApiProblem, auth.SignInRequired):
            g.unread = None
    return g.unread


def init_templating(app) -> None:
    """Register the filters and globals."""
    app.jinja_env.filters.update(
        when=when,
        money=money,
        status_name=status_name,
        days_in=days_in,
        credits=credits,
        check_name=check_name,
        check_message=check_message,
    )
    app.jinja_env.globals.update(
        page_url=page_url,
        first_page_url=first_page_url,
        unread_count=unread_count,
        categories=categories,
        credit_states=CREDIT_STATES,
        payment_states=PAYMENT_STATES,
        account_console_url=auth.account_console_url,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def person():
        return {"person": auth.current_person()}
