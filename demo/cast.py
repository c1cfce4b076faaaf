"""The people of one demo run and what they write: fresh ids per run, so the story can be told again and again."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from demo.platform import Person, person

ORG_NAME = "Acme Labs"
UNIVERSITY_NAME = "Northfield University"
UNI_SITE = "https://northfield.example.ac.in"
STUDENT_NAMES = ("Asha Rao", "Ben Okafor", "Chen Wei")


@dataclass(frozen=True)
class Cast:
    """Everyone in one run of the story."""

    run: str
    admin: Person
    employer: Person
    students: tuple[Person, ...]
    university: Person

    @property
    def org_id(self) -> str:
        """The employer's organisation id."""
        return self.employer.org or ""


def aishe_code(run: str) -> str:
    """An AISHE code of this run's university (one code per university on the platform)."""
    return f"U-{int(hashlib.sha256(run.encode()).hexdigest(), 16) % 10**6:06d}"


def new_run_id() -> str:
    """A short id that makes this run's organisations and people new to the platform."""
    return uuid.uuid4().hex[:8]


def cast_for(run: str, secret: str) -> Cast:
    """The people of run `run`, with tokens signed by the platform's secret."""
    students = tuple(
        person(secret, name, "student", f"student-{name.split()[0].lower()}-{run}", email=_email(name, run))
        for name in STUDENT_NAMES
    )
    return Cast(
        run=run,
        admin=person(secret, "Stint Operator", "admin", f"ops-{run}", email=f"ops.{run}@stint.example"),
        employer=person(
            secret, "Carla Diaz", "employer", f"carla-{run}", org=f"acme-labs-{run}", email=f"carla.{run}@acme.example"
        ),
        students=students,
        university=person(
            secret,
            "Dr. Meera Iyer",
            "university",
            f"registrar-{run}",
            org=f"northfield-{run}",
            email=f"registrar.{run}@northfield.example",
        ),
    )


def _email(name: str, run: str) -> str:
    return f"{name.lower().replace(' ', '.')}.{run}@students.example"


ORGANISATION = {"name": ORG_NAME, "website": "https://acme-labs.example", "registration_id": "U72900KA2021PTC150123"}

SCREENING_QUESTION = "Which dashboard or BI tools have you used, and for what?"


def listing_draft() -> dict:
    """The listing Acme Labs writes: a two-seat, three-week data project with a written brief."""
    return {
        "title": "Build a customer-churn dashboard",
        "summary": "Turn a year of anonymised subscription data into a churn dashboard the support team reads weekly.",
        "brief": (
            "We run a subscription app with about 40,000 customers, and support wants to see who is about to leave "
            "and why. You get an anonymised CSV export and read access to a staging database. Build a dashboard "
            "that shows monthly churn, the top three reasons people give, and the accounts at risk this month; "
            "then write a one-page note on how you built it and where its numbers can mislead."
        ),
        "deliverables": [
            "A dashboard (Metabase, Superset or similar) with monthly churn, reasons and accounts at risk",
            "A one-page note on the method and its limits",
        ],
        "skills": ["SQL", "Python", "Data visualisation"],
        "category": "data",
        "duration_days": 21,
        "effort_hours": 60,
        "stipend": {"amount": "20000.00", "currency": "INR"},
        "seats": 2,
        "apply_by": (datetime.now(UTC) + timedelta(days=14)).isoformat(timespec="seconds"),
        "screening_questions": [SCREENING_QUESTION],
    }


APPLICATIONS = {
    "Asha Rao": ("I built the library's footfall dashboard in Metabase last term.", "Metabase and pandas, weekly"),
    "Ben Okafor": ("I like turning messy exports into charts people read.", "Superset for a student-union survey"),
    "Chen Wei": ("Churn analysis is what I want to do after graduating.", "Tableau Public, in a course project"),
}

FIRST_ROUND = {
    "links": ["https://github.com/asha-rao/churn-dashboard", "https://asha-rao.example/churn-note.pdf"],
    "notes": "Dashboard and note attached; the at-risk list refreshes nightly.",
    "hours_spent": 40,
}
CHANGES_FEEDBACK = "Lovely work. Please split churn by plan, and say in the note how you treated paused accounts."
SECOND_ROUND = {
    "links": ["https://github.com/asha-rao/churn-dashboard", "https://asha-rao.example/churn-note-v2.pdf"],
    "notes": "Churn is split by plan; paused accounts are counted as active, as the note now explains.",
    "hours_spent": 46,
}
APPROVAL = {
    "decision": "approve",
    "feedback": "Exactly what support needed, and the note is honest about the limits.",
    "rating": 5,
    "hours_verified": 45,
    "skills_demonstrated": ["SQL", "Data visualisation", "Technical writing"],
}
POLICY = {"hours_per_credit": 30, "min_hours": 20}
COURSE = {"course_code": "INTERN-301", "term": "2025-26 Semester 2", "note": "Counts towards the internship elective."}
