"""Use cases of the work itself: the student submits rounds of work, the employer reviews them."""

from __future__ import annotations

from pymongo.database import Database

from services.application import domain, places, store
from services.application.applications import changing_application, listing_of, now_utc, transition
from services.application.domain import Actor, Limits
from services.application.event_data import work_approved_event, work_event


def submit_work(
    db: Database,
    actor: Actor,
    application_id: str,
    links: list[str],
    notes: str,
    hours_spent: float,
    traceparent: str | None = None,
) -> dict:
    """The accepted student submits a round of work (links, notes, hours); it is fingerprinted with SHA-256."""
    with changing_application(db, actor, application_id) as changing:
        app = changing.app
        domain.next_status("submit_work", app["status"])
        listing = listing_of(db, app)
        domain.check_hours_spent(hours_spent, listing["effort_hours"])
        now = now_utc()
        round_number = len(app.get("submissions", [])) + 1
        submission = {
            "round": round_number,
            "links": links,
            "notes": notes,
            "hours_spent": hours_spent,
            "digest": domain.submission_digest(links, notes, hours_spent, round_number),
            "submitted_at": now,
        }
        change = transition(app, domain.SUBMITTED, actor, now, appended={"submissions": submission})
        events = [work_event("submitted", app, submission, traceparent=traceparent)]
        return changing.write(change, events)


def review_work(
    db: Database,
    limits: Limits,
    actor: Actor,
    application_id: str,
    review: dict,
    traceparent: str | None = None,
) -> dict:
    """The listing's employer approves, requests changes to, or rejects the latest submitted round.

    `review` holds decision, feedback, rating, hours_verified and skills_demonstrated as the request sent them.
    """
    decision = review["decision"]
    with changing_application(db, actor, application_id) as changing:
        app = changing.app
        status = domain.next_status(domain.REVIEW_ACTIONS[decision], app["status"])
        listing = listing_of(db, app)
        domain.check_review(
            decision,
            rating=review.get("rating"),
            hours_verified=review.get("hours_verified"),
            feedback=review.get("feedback", ""),
            effort_hours=listing["effort_hours"],
            change_rounds=app.get("change_rounds", 0),
            limits=limits,
        )
        change, event = _review_outcome(db, app, listing, review, status, actor, traceparent)
        stored = changing.write(change, [event])
    places.give_back(db, app["_id"], status, has_work=True)
    return stored


def _review_outcome(
    db: Database, app: dict, listing: dict, review: dict, status: str, actor: Actor, traceparent: str | None
) -> tuple[store.Change, dict]:
    """The change recording a review of the latest round, and the event it announces."""
    now = now_utc()
    submission = app["submissions"][-1]
    recorded = _recorded_review(review, submission["round"], actor, now)
    decision = review["decision"]
    fields = {"latest_review": recorded, **({"completed_at": now} if decision == "approve" else {})}
    raised = {"change_rounds": 1} if decision == "request_changes" else {}
    change = transition(app, status, actor, now, fields=fields, appended={"reviews": recorded}, raised=raised)
    if decision == "approve":
        org = store.find_org(db, listing["org_id"])
        return change, work_approved_event(app, submission, recorded, listing, org, now, traceparent)
    if decision == "request_changes":
        return change, work_event("changes_requested", app, submission, recorded["feedback"], traceparent)
    return change, work_event("rejected", app, submission, recorded["feedback"], traceparent)


def _recorded_review(review: dict, round_number: int, actor: Actor, now) -> dict:
    """The review as stored on the application and shown to both sides."""
    return {
        "round": round_number,
        "decision": review["decision"],
        "feedback": review.get("feedback", ""),
        "rating": review.get("rating"),
        "hours_verified": review.get("hours_verified"),
        "skills_demonstrated": review.get("skills_demonstrated", []),
        "reviewer": actor.as_person(),
        "reviewed_at": now,
    }
