"""Events on the real broker become inbox entries and real emails, once each, as preferences allow."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.notification import outbound, store
from services.notification.domain import ROUTES, UNIVERSITY
from services.notification.handlers import fan_out
from shared.events import read_event
from shared.locks import release_lease, take_lease
from tests.integration.notification.notification_support import wait_for
from tests.support.commands import logged
from tests.unit.notification.notification_samples import ORG_ID, sample_event, student

ACME_EMAIL = "team@acme.example"
STUDENT_EMAIL = "asha@example.org"


def inbox_of(db, event: dict) -> list[dict]:
    return list(db.inbox.find({"event_id": event["id"]}))


def parts(message) -> dict:
    """The content types of an email and their text."""
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


@pytest.fixture
def known_org(notifier):
    """Acme's organisation event has been consumed, so its contact email is known."""
    registered = sample_event("stint.org.registered.v1", contact_email=ACME_EMAIL)
    notifier.deliver(registered)
    return registered


def test_every_routed_event_reaches_the_right_inbox_and_mailbox(notifier, smtp_server, known_org, token):
    # A closed listing needs applicants, an invitation has no inbox, a university's registrars are another org:
    # each has its own test.
    own_tests = ("stint.listing.closed.v1", "stint.org.member_invited.v1", "stint.university.verified.v1")
    routed = [t for t in ROUTES if t not in own_tests and ROUTES[t].audience != UNIVERSITY]
    events = {t: sample_event(t, application_id=f"app-{n}") for n, t in enumerate(routed)}
    notifier.deliver(*events.values())
    assert notifier.send_emails() == len(events)

    for event_type, event in events.items():
        expected = "user:stu-1" if ROUTES[event_type].audience == "student" else f"org:{ORG_ID}"
        address = STUDENT_EMAIL if expected.startswith("user:") else ACME_EMAIL
        [entry] = [e for e in inbox_of(notifier.db, event) if e["recipient"] != "role:admin"]  # admins: own test
        assert entry["recipient"] == expected, event_type
        [message] = [m for m in smtp_server.to(address) if m["Subject"] == entry["title"]]
        bodies = parts(message)
        assert set(bodies) == {"text/plain", "text/html"}, event_type
        assert entry["body"] in bodies["text/plain"]
        assert message["From"] == "Stint <no-reply@stint.test>"

    issued = events["stint.certificate.issued.v1"]
    link = issued["data"]["verification_url"]
    [credential_email] = [
        m for m in smtp_server.to(STUDENT_EMAIL) if "credential for" in m["Subject"] and "ready" in m["Subject"]
    ]
    assert link in parts(credential_email)["text/plain"] and link in parts(credential_email)["text/html"]
    assert inbox_of(notifier.db, issued)[0]["link"] == link

    student_view = notifier.call("GET", "/notifications?limit=100", token("student", sub="stu-1")).get_json()
    employer_view = notifier.call(
        "GET", "/notifications?limit=100", token("employer", sub="emp-1", org=ORG_ID)
    ).get_json()
    assert len(student_view["items"]) == sum(1 for t in events if ROUTES[t].audience == "student")
    assert {item["recipient"] for item in employer_view["items"]} == {f"org:{ORG_ID}"}


def test_an_invitation_is_emailed_to_the_invited_address_with_the_link_to_accept(notifier, smtp_server, known_org):
    event = sample_event("stint.org.member_invited.v1")
    notifier.deliver(event)
    assert notifier.send_emails() == 1
    [message] = smtp_server.to("ravi@acme.example")
    assert message["Subject"] == "Join Acme Analytics on Stint"
    assert event["data"]["accept_url"] in parts(message)["text/plain"]
    assert inbox_of(notifier.db, event) == []


def test_a_closed_listing_is_announced_to_students_whose_applications_are_still_open(notifier, smtp_server):
    people = {sub: student(sub, sub.title(), f"{sub}@example.org") for sub in ("ana", "bo", "cy", "di")}
    notifier.deliver(
        sample_event("stint.application.submitted.v1", application_id="a-ana", person=people["ana"]),
        sample_event("stint.application.shortlisted.v1", application_id="a-bo", person=people["bo"]),
        sample_event("stint.application.accepted.v1", application_id="a-cy", person=people["cy"]),
        sample_event("stint.application.withdrawn.v1", application_id="a-di", person=people["di"]),
        sample_event("stint.application.submitted.v1", application_id="other", person=people["di"], listing_id="l-2"),
    )
    closed = sample_event("stint.listing.closed.v1")
    notifier.deliver(closed)
    notifier.send_emails()

    def told_of_closing(address):
        return [m for m in smtp_server.to(address) if m["Subject"] == "Dashboard for field sales has closed"]

    assert sorted(entry["recipient"] for entry in inbox_of(notifier.db, closed)) == ["user:ana", "user:bo"]
    assert [len(told_of_closing(f"{sub}@example.org")) for sub in ("ana", "bo", "cy", "di")] == [1, 1, 0, 0]


def test_an_applicant_heard_of_after_the_listing_closed_still_hears_it_once(notifier, smtp_server):
    # The topics are read side by side: the closing can arrive before an application made while it was open.
    ana, cy = student("ana", "Ana", "ana@example.org"), student("cy", "Cy", "cy@example.org")
    closed = sample_event("stint.listing.closed.v1")
    notifier.deliver(closed)
    notifier.deliver(sample_event("stint.application.submitted.v1", application_id="a-ana", person=ana))
    notifier.deliver(sample_event("stint.application.accepted.v1", application_id="a-cy", person=cy))
    notifier.deliver(sample_event("stint.application.shortlisted.v1", application_id="a-ana", person=ana))
    notifier.send_emails()
    assert [entry["recipient"] for entry in inbox_of(notifier.db, closed)] == ["user:ana"]
    closing_mails = [m for m in smtp_server.to("ana@example.org") if m["Subject"].endswith("has closed")]
    assert len(closing_mails) == 1
    assert not [m for m in smtp_server.to("cy@example.org") if m["Subject"].endswith("has closed")]


def test_applicants_whose_acceptances_filled_the_listing_never_hear_it_closed(notifier, smtp_server):
    # The listing counted Ben's and Cy's acceptances and closed; this service read the closing before them.
    ana, ben, cy = (student(sub, sub.title(), f"{sub}@example.org") for sub in ("ana", "ben", "cy"))
    notifier.deliver(
        sample_event("stint.application.submitted.v1", application_id="a-ana", person=ana),
        sample_event("stint.application.submitted.v1", application_id="a-ben", person=ben),
    )
    closed = sample_event("stint.listing.closed.v1")
    closed["data"]["accepted_applications"] = ["a-ben", "a-cy"]
    notifier.deliver(closed)
    notifier.deliver(sample_event("stint.application.submitted.v1", application_id="a-cy", person=cy))
    notifier.deliver(sample_event("stint.application.accepted.v1", application_id="a-ben", person=ben))
    notifier.send_emails()
    assert [entry["recipient"] for entry in inbox_of(notifier.db, closed)] == ["user:ana"]
    for seated in ("ben@example.org", "cy@example.org"):
        assert not [m for m in smtp_server.to(seated) if m["Subject"].endswith("has closed")], seated


def test_a_credit_request_read_before_the_universitys_own_events_still_emails_its_registrar(notifier, smtp_server):
    # The request and the university are keyed apart, so the request may be read first: it carries the address.
    request = sample_event("stint.credit.requested.v1")
    notifier.deliver(request)
    assert notifier.send_emails() == 1
    [message] = smtp_server.to("registrar@uni.example")
    assert message["Subject"] == "Credit request for Dashboard for field sales"


def test_a_redelivered_event_notifies_nobody_twice(notifier, smtp_server, webhook_receiver, token):
    receiver = webhook_receiver()
    notifier.register_webhook(token("employer", sub="emp-1", org=ORG_ID), receiver.url, "s" * 24)
    event = sample_event("stint.application.shortlisted.v1")
    notifier.deliver(event)
    notifier.publish(event)  # the broker hands it over again
    notifier.db.handled_events.delete_many({})  # as if the worker died after the effect, before recording it
    notifier.publish(event)
    notifier.consume(event)
    assert fan_out(notifier.db, read_event(event)) == {"in_app": 0, "email": 0, "webhook": 0}

    notifier.send_emails()
    notifier.dispatch_until(lambda: receiver.calls)
    notifier.dispatch_until(notifier.dispatcher.idle)
    assert len(inbox_of(notifier.db, event)) == 1
    assert len(smtp_server.to(STUDENT_EMAIL)) == 1
    assert len(receiver.calls) == 1


def test_a_student_who_turned_email_off_gets_no_email_but_still_the_inbox_entry(notifier, smtp_server, token):
    bearer = token("student", sub="stu-1")
    response = notifier.call("PUT", "/preferences", bearer, json={"in_app": True, "email": False, "webhook": True})
    assert response.status_code == 200 and response.get_json()["email"] is False
    accepted = sample_event("stint.application.accepted.v1")
    notifier.deliver(accepted)
    assert notifier.send_emails() == 0
    assert smtp_server.to(STUDENT_EMAIL) == []
    assert len(inbox_of(notifier.db, accepted)) == 1


def test_a_student_who_turned_everything_off_hears_nothing(notifier, smtp_server, token):
    off = {"in_app": False, "email": False, "webhook": False}
    assert notifier.call("PUT", "/preferences", token("student", sub="stu-1"), json=off).status_code == 200
    approved = sample_event("stint.work.approved.v1")
    notifier.deliver(approved)
    notifier.send_emails()
    assert inbox_of(notifier.db, approved) == [] and smtp_server.to(STUDENT_EMAIL) == []


def test_an_unreachable_mail_server_keeps_the_email_queued_for_a_retry(notifier, smtp_server):
    accepted = sample_event("stint.application.accepted.v1")
    notifier.deliver(accepted)
    notifier.emails.smtp_url = "smtp://127.0.0.1:9"  # nothing listens there
    assert notifier.send_emails() == 0
    [queued] = notifier.db.email_deliveries.find({"event_id": accepted["id"]})
    assert queued["status"] == "pending" and queued["attempts"][0]["error"].startswith("SMTP server unreachable")
    notifier.emails.smtp_url = smtp_server.url
    [due] = notifier.db.email_deliveries_due.find({"_id": queued["_id"]})  # the retry is due later ...
    assert due["next_attempt_at"] == queued["next_attempt_at"] > queued["created_at"]
    for collection in (notifier.db.email_deliveries, notifier.db.email_deliveries_due):  # ... so bring it forward
        collection.update_one({"_id": queued["_id"]}, {"$set": {"next_attempt_at": queued["created_at"]}})
    assert notifier.send_emails() == 1
    assert len(smtp_server.to(STUDENT_EMAIL)) == 1


def test_an_email_queued_before_the_due_list_existed_is_still_sent_after_a_restart(notifier, smtp_server):
    notifier.deliver(sample_event("stint.application.accepted.v1"))
    notifier.db.drop_collection("email_deliveries_due")  # as if queued by the version without the due list
    assert notifier.send_emails() == 0
    store.ensure_indexes(notifier.db)  # what every start does
    assert notifier.send_emails() == 1
    assert len(smtp_server.to(STUDENT_EMAIL)) == 1
    assert notifier.db.email_deliveries_due.count_documents({"next_attempt_at": {"$exists": True}}) == 0


def test_a_run_of_events_keeps_each_read_model_first_and_tells_everyone_once_even_when_redelivered(notifier):
    from services.notification import handlers
    from services.notification.worker import HANDLERS

    db = notifier.db
    registered = sample_event("stint.org.registered.v1", contact_email=ACME_EMAIL)
    submitted = [sample_event("stint.application.submitted.v1", application_id=f"run-{n}") for n in range(5)]
    run = [read_event(event) for event in [registered, *submitted]]
    handle = handlers.batch_handler(HANDLERS)

    effects = handle(db, run)
    handle(db, run)  # the same run again: a worker that died before recording it

    assert store.find_org(db, ORG_ID)["contact_email"] == ACME_EMAIL  # kept before anyone was told
    assert db[store.APPLICATIONS].count_documents({"_id": {"$in": [f"run-{n}" for n in range(5)]}}) == 5
    for event, effect in zip(submitted, effects[1:], strict=True):
        assert effect["in_app"] == 1 and effect["email"] == 1  # the employer's inbox and its contact email
        assert db[store.INBOX].count_documents({"event_id": event["id"]}) == 1
        assert [email["to"] for email in db[store.EMAILS].find({"event_id": event["id"]})] == [ACME_EMAIL]


def test_emails_claimed_together_go_out_once_each_and_one_another_sender_holds_is_left_to_it(notifier, smtp_server):
    events = [sample_event("stint.application.accepted.v1", application_id=f"together-{n}") for n in range(12)]
    notifier.deliver(*events)
    queued = [email["_id"] for email in notifier.db.email_deliveries.find({}, {"_id": 1})]
    assert len(queued) == 12  # more than one claim's worth (CLAIMED_TOGETHER)
    held = take_lease(notifier.db.email_deliveries, queued[3], 60, purpose="delivery")  # another sender has it

    assert notifier.send_emails() == 11
    assert len(smtp_server.to(STUDENT_EMAIL)) == 11
    due = notifier.db.email_deliveries_due.find({"next_attempt_at": {"$exists": True}})
    assert [entry["_id"] for entry in due] == [queued[3]]
    assert notifier.db.email_deliveries.find_one({"_id": queued[3]})["status"] == "pending"
    assert [lease["_id"] for lease in notifier.db.leases.find()] == [held.key]  # the batch gave its leases back

    release_lease(held)  # that sender went away without sending it
    assert notifier.send_emails() == 1
    assert len(smtp_server.to(STUDENT_EMAIL)) == 12
    assert notifier.db.email_deliveries.count_documents({"status": "delivered"}) == 12
    assert notifier.db.email_deliveries_due.count_documents({"next_attempt_at": {"$exists": True}}) == 0


def test_a_slow_sender_starts_no_email_late_in_its_lease_and_gives_the_rest_back_at_once(
    notifier, smtp_server, monkeypatch
):
    notifier.deliver(*[sample_event("stint.application.accepted.v1", application_id=f"slow-{n}") for n in range(4)])
    clock = [1000.0]
    monkeypatch.setattr(outbound, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    send = outbound.EmailSender._send

    def slow(sender, smtp, email):  # a slow SMTP server: each email takes 25 s, past a third of the 60 s lease
        clock[0] += 25
        return send(sender, smtp, email)

    monkeypatch.setattr(outbound.EmailSender, "_send", slow)

    assert [notifier.send_emails() for _ in range(4)] == [1, 1, 1, 1]  # one a round; the others left due
    assert list(notifier.db.leases.find()) == []  # given back at once, not held for the lease
    assert len(smtp_server.to(STUDENT_EMAIL)) == 4
    assert notifier.db.email_deliveries.count_documents({"status": "delivered"}) == 4


def due_marks(notifier) -> list[dict]:
    """The due list's marks (the list also keeps a marker of its own)."""
    return list(notifier.db.email_deliveries_due.find({"next_attempt_at": {"$exists": True}}))


@pytest.fixture
def sending_own(notifier):
    """The notifier's sender sends the emails its consumer queues, claimed as they are queued (as the worker's)."""
    notifier.emails.send_own(notifier.db)
    yield notifier
    notifier.emails.send_own(notifier.db, own=False)


def test_emails_the_worker_queues_go_out_from_its_own_sender_with_no_lease_and_no_read(sending_own, smtp_server):
    notifier = sending_own
    events = [sample_event("stint.application.accepted.v1", application_id=f"own-{n}") for n in range(3)]
    notifier.deliver(*events)
    other = outbound.EmailSender(notifier.settings)
    assert other.send_due_emails(notifier.db) == 0  # claimed for the worker's sender: due to nobody else yet

    with logged(notifier.db) as (mine, commands):
        assert notifier.emails.send_due_emails(mine) == 3

    assert len(smtp_server.to(STUDENT_EMAIL)) == 3
    assert notifier.db.email_deliveries.count_documents({"status": "delivered"}) == 3
    assert not due_marks(notifier)
    # the due list looked at, each attempt logged, the due marks settled together: no lease, no read of an email
    logged_and_settled = [*["update email_deliveries"] * 3, "delete email_deliveries_due"]
    assert commands.sent == ["find email_deliveries_due", *logged_and_settled]
    assert notifier.send_emails() == 0 and len(smtp_server.to(STUDENT_EMAIL)) == 3  # nothing twice


def test_an_email_handed_to_a_sender_that_died_goes_out_once_from_another_when_its_claim_runs_out(
    sending_own, smtp_server
):
    notifier = sending_own
    notifier.emails.lease_seconds = 1.0
    notifier.deliver(sample_event("stint.application.accepted.v1", application_id="orphaned"))
    notifier.emails._handed.clear()  # the worker died with the email handed to its sender, unsent
    other = outbound.EmailSender(notifier.settings)
    assert other.send_due_emails(notifier.db) == 0  # still claimed

    wait_for(lambda: other.send_due_emails(notifier.db) == 1, 10)

    assert len(smtp_server.to(STUDENT_EMAIL)) == 1
    assert notifier.db.email_deliveries.count_documents({"status": "delivered"}) == 1
    assert not due_marks(notifier)


def test_an_email_handed_over_while_the_mail_server_is_down_waits_due_for_a_retry(sending_own, smtp_server):
    notifier = sending_own
    notifier.emails.smtp_url = "smtp://127.0.0.1:9"  # nothing listens there
    notifier.deliver(sample_event("stint.application.accepted.v1", application_id="unreachable"))

    assert notifier.send_emails() == 0

    email = notifier.db.email_deliveries.find_one({})
    assert email["status"] == "pending" and email["attempt_count"] == 1
    assert "unreachable" in email["attempts"][0]["error"]
    # the claim is over: due again when the retry is, to any sender
    assert [mark["next_attempt_at"] for mark in due_marks(notifier)] == [email["next_attempt_at"]]
    notifier.emails.smtp_url = smtp_server.url
    for collection in (notifier.db.email_deliveries, notifier.db.email_deliveries_due):  # bring the retry forward
        collection.update_one({"_id": email["_id"]}, {"$set": {"next_attempt_at": email["created_at"]}})
    assert outbound.EmailSender(notifier.settings).send_due_emails(notifier.db) == 1
    assert len(smtp_server.to(STUDENT_EMAIL)) == 1
