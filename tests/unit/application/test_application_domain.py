"""The application state machine and its rules, without any server."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.application import domain
from services.application.domain import Actor, IllegalTransition, Limits
from shared.errors import Conflict, Unprocessable

# DESIGN §5, written out by hand: every (action, from-status) pair that is allowed, and where it leads.
ALLOWED = {
    ("shortlist", "applied"): "shortlisted",
    ("accept", "applied"): "accepted",
    ("accept", "shortlisted"): "accepted",
    ("reject", "applied"): "rejected",
    ("reject", "shortlisted"): "rejected",
    ("reject", "accepted"): "rejected",
    ("withdraw", "applied"): "withdrawn",
    ("withdraw", "shortlisted"): "withdrawn",
    ("withdraw", "accepted"): "withdrawn",
    ("submit_work", "accepted"): "submitted",
    ("submit_work", "changes_requested"): "submitted",
    ("approve", "submitted"): "approved",
    ("request_changes", "submitted"): "changes_requested",
    ("reject_work", "submitted"): "rejected",
}
EVERY_PAIR = [(action, status) for action in domain.TRANSITIONS for status in domain.STATUSES]


@pytest.mark.parametrize(("action", "status"), [p for p in EVERY_PAIR if p in ALLOWED])
def test_an_allowed_transition_leads_where_the_design_says(action, status):
    assert domain.next_status(action, status) == ALLOWED[(action, status)]


@pytest.mark.parametrize(("action", "status"), [p for p in EVERY_PAIR if p not in ALLOWED])
def test_every_other_transition_is_refused_with_a_409(action, status):
    with pytest.raises(IllegalTransition) as refused:
        domain.next_status(action, status)

    assert refused.value.status == 409
    assert refused.value.code == "illegal_transition"
    assert refused.value.details["status"] == status


def test_finished_applications_allow_nothing():
    for status in ("approved", "rejected", "withdrawn"):
        assert not [action for action in domain.TRANSITIONS if (action, status) in ALLOWED]


def test_open_applications_are_those_still_in_progress():
    assert set(domain.OPEN_STATUSES) == {"applied", "shortlisted", "accepted", "submitted", "changes_requested"}


def test_a_seat_is_kept_from_acceptance_on_and_by_rejected_work_but_not_by_early_rejection():
    assert [s for s in domain.STATUSES if domain.keeps_seat(s, has_work=False)] == [
        "accepted",
        "submitted",
        "changes_requested",
        "approved",
    ]
    assert domain.keeps_seat("rejected", has_work=True)
    assert not domain.keeps_seat("withdrawn", has_work=True)


@pytest.mark.parametrize(
    ("status", "has_work", "minutes", "left_behind"),
    [
        ("withdrawn", False, 0, True),
        ("rejected", False, 0, True),
        ("rejected", True, 60, False),
        ("accepted", False, 60, False),
        ("approved", True, 60, False),
        ("applied", False, 0, False),
        ("shortlisted", False, 1, False),
        ("applied", False, 3, True),
        (None, False, 0, True),
    ],
)
def test_a_seat_left_behind_by_a_crash_is_recognised(status, has_work, minutes, left_behind):
    assert domain.seat_left_behind(status, has_work, timedelta(minutes=minutes)) is left_behind


# ---- applying ------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_published_listing_before_its_deadline_is_open():
    domain.check_listing_open("published", NOW + timedelta(seconds=1), NOW)


@pytest.mark.parametrize(
    ("status", "apply_by", "code"),
    [
        ("closed", NOW + timedelta(days=1), "listing_not_open"),
        ("draft", NOW + timedelta(days=1), "listing_not_open"),
        ("published", NOW, "application_deadline_passed"),
        ("published", NOW - timedelta(days=1), "application_deadline_passed"),
    ],
)
def test_a_closed_or_late_listing_refuses_applications(status, apply_by, code):
    with pytest.raises(Conflict) as refused:
        domain.check_listing_open(status, apply_by, NOW)

    assert refused.value.code == code


def test_answers_are_paired_with_the_questions_in_order():
    paired = domain.check_answers(["Tools?", "Start?"], ["  Metabase ", "Monday"])

    assert paired == [{"question": "Tools?", "answer": "Metabase"}, {"question": "Start?", "answer": "Monday"}]


def test_a_listing_without_questions_takes_no_answers():
    assert domain.check_answers([], []) == []
    with pytest.raises(Unprocessable):
        domain.check_answers([], ["unasked"])


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        (["one"], "answers_mismatch"),
        (["one", "two", "three"], "answers_mismatch"),
        ([], "answers_mismatch"),
        (["one", ""], "answer_empty"),
        (["\n\t", "two"], "answer_empty"),
    ],
)
def test_answers_must_match_the_questions_one_for_one_and_be_non_empty(answers, code):
    with pytest.raises(Unprocessable) as refused:
        domain.check_answers(["Tools?", "Start?"], answers)

    assert refused.value.code == code
    assert refused.value.status == 422


def test_the_open_application_limit_says_what_the_limit_is():
    refused = domain.too_many_open_applications(Limits(max_open_applications=3))

    assert (refused.status, refused.code, refused.details) == (409, "too_many_open_applications", {"limit": 3})


def test_limits_come_from_settings_with_sensible_defaults():
    assert Limits.from_extra({}) == Limits(10, 3)
    assert Limits.from_extra({"STINT_MAX_OPEN_APPLICATIONS": "4", "STINT_MAX_CHANGE_ROUNDS": "1"}) == Limits(4, 1)
    for bad in ({"STINT_MAX_OPEN_APPLICATIONS": "0"}, {"STINT_MAX_CHANGE_ROUNDS": "many"}):
        with pytest.raises(ValueError):
            Limits.from_extra(bad)


# ---- work ----------------------------------------------------------------------------------


@pytest.mark.parametrize("hours", [0, 0.5, 40, 80])
def test_hours_spent_up_to_twice_the_effort_are_accepted(hours):
    domain.check_hours_spent(hours, effort_hours=40)


@pytest.mark.parametrize("hours", [-0.1, 80.01, 400])
def test_hours_spent_beyond_twice_the_effort_are_refused(hours):
    with pytest.raises(Unprocessable) as refused:
        domain.check_hours_spent(hours, effort_hours=40)

    assert refused.value.code == "hours_spent_out_of_range"


def test_the_submission_digest_is_sha256_of_a_documented_canonical_json():
    canonical = b'{"hours_spent":12,"links":["https://a.example/x"],"notes":"ok","round":1}'

    digest = domain.submission_digest(["https://a.example/x"], "ok", 12.0, 1)

    assert digest == hashlib.sha256(canonical).hexdigest()


def test_the_submission_digest_is_stable_and_tells_rounds_and_contents_apart():
    links = ["https://a.example/x", "https://b.example/y"]
    digest = domain.submission_digest(links, "naïve café ✓", 7.5, 2)

    assert digest == domain.submission_digest(list(links), "naïve café ✓", 7.5, 2)
    assert domain.submission_digest(links, "n", 12, 1) == domain.submission_digest(links, "n", 12.0, 1)
    assert (
        len(
            {
                digest,
                domain.submission_digest(links, "naïve café ✓", 7.5, 3),
                domain.submission_digest(list(reversed(links)), "naïve café ✓", 7.5, 2),
                domain.submission_digest(links, "naïve café", 7.5, 2),
                domain.submission_digest(links, "naïve café ✓", 7.25, 2),
            }
        )
        == 5
    )


def _review(decision="approve", rating=5, hours_verified=30.0, feedback="", change_rounds=0, limits=Limits()):
    domain.check_review(
        decision,
        rating=rating,
        hours_verified=hours_verified,
        feedback=feedback,
        effort_hours=40,
        change_rounds=change_rounds,
        limits=limits,
    )


def test_an_approval_with_rating_and_hours_within_the_effort_passes():
    _review(hours_verified=40)
    _review(hours_verified=0.5)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"rating": None}, "approval_incomplete"),
        ({"hours_verified": None}, "approval_incomplete"),
        ({"hours_verified": 40.5}, "hours_verified_out_of_range"),
        ({"hours_verified": 0}, "hours_verified_out_of_range"),
    ],
)
def test_an_approval_needs_a_rating_and_hours_within_the_listing_effort(fields, code):
    with pytest.raises(Unprocessable) as refused:
        _review(**fields)

    assert refused.value.code == code


def test_changes_need_feedback_and_are_limited_to_the_set_number_of_rounds():
    _review("request_changes", feedback="Add legends", change_rounds=2, limits=Limits(max_change_rounds=3))
    with pytest.raises(Unprocessable):
        _review("request_changes", feedback="  ")
    with pytest.raises(Conflict) as refused:
        _review("request_changes", feedback="Again", change_rounds=3, limits=Limits(max_change_rounds=3))

    assert refused.value.code == "change_rounds_exhausted"


def test_a_rejection_needs_neither_rating_nor_hours():
    _review("reject", rating=None, hours_verified=None)


# ---- who sees what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "visible"),
    [
        (Actor("stu-1", "student"), True),
        (Actor("stu-2", "student"), False),
        (Actor("emp-1", "employer", "acme"), True),
        (Actor("emp-2", "employer", "globex"), False),
        (Actor("uni-1", "university", "acme"), False),
        (Actor("ops", "admin"), False),
    ],
)
def test_an_application_is_seen_by_its_student_and_its_listing_organisation_only(actor, visible):
    assert domain.can_see(actor, student_id="stu-1", org_id="acme") is visible
