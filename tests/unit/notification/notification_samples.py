"""Valid catalog events for the notification tests, built through shared.events.new_event."""

from __future__ import annotations

import uuid

from shared.events import CATALOG, new_event

ORG_ID = "org-acme"
UNIVERSITY_ORG = "org-uni"
LISTING_ID = "listing-1"
CREDENTIAL_UUID = "2f1c9a4e-8d7b-4c3a-9e21-5b6d7f8a9c0d"


def student(sub: str = "stu-1", name: str = "Asha Rao", email: str = "asha@example.org") -> dict:
    """A student as events carry them."""
    return {"id": sub, "name": name, "email": email}


def _listing(org_id: str, listing_id: str, status: str) -> dict:
    return {
        "listing_id": listing_id,
        "org_id": org_id,
        "org_name": "Acme Analytics",
        "org_status": "verified",
        "title": "Dashboard for field sales",
        "summary": "Build a small dashboard",
        "brief": "Use the sample data",
        "deliverables": ["a dashboard", "a short write-up"],
        "skills": ["python", "sql"],
        "category": "data",
        "duration_days": 14,
        "effort_hours": 40,
        "stipend": {"amount": "15000", "currency": "INR"},
        "seats": 2,
        "seats_filled": 0,
        "apply_by": "2030-01-31T23:59:00+00:00",
        "screening_questions": [],
        "status": status,
        "version": 3,
        "closed_reason": "closed by the employer" if status == "closed" else None,
    }


def _work(org_id: str, listing_id: str, application_id: str, person: dict) -> dict:
    return {
        "application_id": application_id,
        "listing_id": listing_id,
        "listing_title": "Dashboard for field sales",
        "org_id": org_id,
        "student": person,
        "round": 2,
        "links": ["https://github.com/asha/dashboard"],
        "notes": "see the README",
        "hours_spent": 32,
        "feedback": "Please add a <b>legend</b> & units",
    }


def _approved(work: dict) -> dict:
    return {
        **work,
        "listing": {
            "listing_id": work["listing_id"],
            "title": work["listing_title"],
            "effort_hours": 40,
            "duration_days": 14,
            "org_id": work["org_id"],
            "org_name": "Acme Analytics",
        },
        "hours_verified": 36,
        "skills_demonstrated": ["python"],
        "rating": 5,
        "approver": {"id": "emp-1", "name": "Ravi", "email": "ravi@acme.example"},
        "started_on": "2030-02-01",
        "completed_on": "2030-02-14",
        "submission": {"links": work["links"], "digest": "a" * 64},
    }


def _certificate(org_id: str, application_id: str, person: dict) -> dict:
    return {
        "credential_id": f"urn:uuid:{CREDENTIAL_UUID}",
        "application_id": application_id,
        "student": person,
        "org_id": org_id,
        "listing_title": "Dashboard for field sales",
        "verification_url": f"https://verify.stint.test/verify/{CREDENTIAL_UUID}",
    }


def sample_data(
    event_type: str,
    *,
    org_id: str = ORG_ID,
    listing_id: str = LISTING_ID,
    application_id: str = "app-1",
    person: dict | None = None,
    contact_email: str = "team@acme.example",
) -> dict:
    """Valid `data` for any catalog event type."""
    person = person or student()
    aggregate, action = event_type.split(".")[1:3]
    if event_type == "stint.org.member_invited.v1":
        return {
            "invitation_id": "0b8f7a52-3f7e-4c55-9d0e-7b1f2a3c4d5e",
            "org_id": org_id,
            "org_name": "Acme Analytics",
            "email": "ravi@acme.example",
            "invited_by": {"id": "emp-1", "name": "Meera", "email": contact_email},
            "accept_url": "http://127.0.0.1:8000/invitations/0b8f7a52-3f7e-4c55-9d0e-7b1f2a3c4d5e",
        }
    if aggregate == "university":
        status = "verified" if action == "verified" else "pending"
        return {"org_id": UNIVERSITY_ORG, "name": "Acme Analytics University", "aishe_code": "U-0042"} | {
            "website": "https://uni.example",
            "status": status,
            "contact_email": "registrar@uni.example",
        }
    if aggregate == "credit":
        return {
            "request_id": "5b1f0c9e-2a3d-4e5f-8a7b-9c0d1e2f3a4b",
            "credential_id": f"urn:uuid:{CREDENTIAL_UUID}",
            "student": person,
            "university_id": UNIVERSITY_ORG,
            "university_name": "Acme Analytics University",
            "university_contact_email": "registrar@uni.example",
            "listing_title": "Dashboard for field sales",
            "employer": "Acme Analytics",
            "hours": 36,
            "note": "for my <b>elective</b>",
            "verification_url": f"https://verify.stint.test/verify/{CREDENTIAL_UUID}",
        }
    if aggregate == "key":
        return {
            "key_id": "key-1",
            "reason": "leaked",
            "revoked_by": "admin-1",
            "revoked_at": "2030-03-01T10:00:00+00:00",
        }
    if aggregate == "org":
        status = "verified" if action == "verified" else "pending"
        return {"org_id": org_id, "name": "Acme Analytics", "website": "https://acme.example", "status": status} | {
            "contact_email": contact_email
        }
    if aggregate == "listing":
        return _listing(org_id, listing_id, "closed" if action == "closed" else "published")
    if aggregate == "application":
        status = {"submitted": "applied"}.get(action, action)
        return {
            "application_id": application_id,
            "listing_id": listing_id,
            "listing_title": "Dashboard for field sales",
            "org_id": org_id,
            "student": person,
            "status": status,
        }
    if aggregate == "payment":
        return {
            "application_id": application_id,
            "listing_id": listing_id,
            "listing_title": "Dashboard for field sales",
            "org_id": org_id,
            "student": person,
            "status": action,
            "amount": "15000.00",
            "currency": "INR",
            "paid_on": "2030-02-20T23:59:59.999+05:30",
            "reference": "UPI-4471",
            "reason": "only <b>half</b> arrived" if action == "disputed" else "",
        }
    work = _work(org_id, listing_id, application_id, person)
    if aggregate == "work":
        return _approved(work) if action == "approved" else work
    certificate = _certificate(org_id, application_id, person)
    if aggregate == "endorsement":
        return certificate | {
            "endorsement_id": "urn:uuid:2b1c0d9e-8f7a-4b6c-9d5e-4f3a2b1c0d9e",
            "org_name": "Acme Analytics",
            "endorsement_url": "https://cert.stint.test/endorsements/2b1c0d9e-8f7a-4b6c-9d5e-4f3a2b1c0d9e",
        }
    if action == "issued":
        return certificate | {"hours": 36, "credits_recommended": 1}
    if action == "revoked":
        return certificate | {"reason": "issued in error"}
    if action == "reissued":
        return certificate | {
            "hours": 36,
            "credits_recommended": 1,
            "reissue_of": "urn:uuid:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
            "reason": "the key that signed it was revoked as compromised",
        }
    return certificate | {
        "university_org": UNIVERSITY_ORG,
        "decision": "accepted",
        "credits_awarded": 1.5,
        "course_code": "CS-399",
        "term": "2030-S",
    }


def sample_event(event_type: str, **options) -> dict:
    """A valid CloudEvent of `event_type` (see sample_data for the options)."""
    assert event_type in CATALOG, event_type
    data = sample_data(event_type, **options)
    subject = data.get("application_id") or data.get("listing_id") or data.get("org_id") or str(uuid.uuid4())
    certification = "certification"
    source = {
        "org": "listing",
        "listing": "listing",
        "certificate": certification,
        "endorsement": certification,
        "university": certification,
        "credit": certification,
        "key": certification,
    }.get(event_type.split(".")[1], "application")
    return new_event(event_type, source, subject, data)
