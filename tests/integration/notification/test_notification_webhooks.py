"""Webhook calls: signed, retried with backoff, disabled when dead, and never held up by a slow endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from pymongo.errors import DuplicateKeyError

from services.notification import store
from tests.support.commands import logged
from tests.unit.notification.notification_samples import ORG_ID, sample_event

SECRET = "whsec-0123456789-abcdef"


@pytest.fixture
def employer(token):
    return token("employer", sub="emp-1", org=ORG_ID)


def delivery_of(notifier, webhook: dict) -> dict:
    return notifier.db.webhook_deliveries.find_one({"webhook_id": webhook["id"]})


def settled(notifier, webhook: dict):
    """The endpoint's delivery once it stopped being pending."""
    delivery = delivery_of(notifier, webhook)
    return delivery if delivery and delivery["status"] != "pending" else None


def settled_and_done(notifier, webhook: dict):
    """Settled, and no call in flight any more (what follows a last failure, disabling, has happened too)."""
    return settled(notifier, webhook) if notifier.dispatcher.idle() else None


def test_a_call_carries_the_event_and_a_signature_that_verifies_with_the_secret(notifier, webhook_receiver, employer):
    receiver = webhook_receiver()
    webhook = notifier.register_webhook(employer, receiver.url, SECRET, ["stint.application.submitted.v1"])
    submitted = sample_event("stint.application.submitted.v1")
    notifier.deliver(submitted, sample_event("stint.application.accepted.v1", application_id="app-2"))
    notifier.dispatch_until(lambda: settled(notifier, webhook))

    [call] = receiver.calls
    expected = hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Stint-Signature"] == f"sha256={expected}"
    assert call["headers"]["X-Stint-Event-Type"] == "stint.application.submitted.v1"
    assert call["headers"]["X-Stint-Delivery"] == delivery_of(notifier, webhook)["_id"]
    assert json.loads(call["body"]) == submitted

    log = notifier.call("GET", f"/webhooks/{webhook['id']}/deliveries", employer).get_json()["items"]
    assert [(d["status"], len(d["attempts"])) for d in log] == [("delivered", 1)]
    assert log[0]["attempts"][0]["status_code"] == 200 and log[0]["attempts"][0]["duration_ms"] >= 0


def test_another_organisations_events_never_reach_an_endpoint(notifier, webhook_receiver, employer):
    receiver = webhook_receiver()
    webhook = notifier.register_webhook(employer, receiver.url, SECRET)
    notifier.deliver(sample_event("stint.application.submitted.v1", org_id="org-zeta"))
    assert delivery_of(notifier, webhook) is None


def test_an_endpoint_that_fails_twice_gets_the_event_once_after_three_attempts(notifier, webhook_receiver, employer):
    receiver = webhook_receiver(statuses=[500, 503])
    webhook = notifier.register_webhook(employer, receiver.url, SECRET)
    notifier.deliver(sample_event("stint.work.submitted.v1"))
    delivery = notifier.dispatch_until(lambda: settled(notifier, webhook))

    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    gaps = [b["at"] - a["at"] for a, b in zip(delivery["attempts"], delivery["attempts"][1:], strict=False)]
    assert gaps[1] > gaps[0]  # backoff grows
    assert len(receiver.calls) == 3 and len({c["headers"]["X-Stint-Delivery"] for c in receiver.calls}) == 1
    log = notifier.call("GET", f"/webhooks/{webhook['id']}/deliveries", employer).get_json()["items"]
    assert [a["error"] for a in log[0]["attempts"]] == ["HTTP 500", "HTTP 503", None]


def test_an_endpoint_that_always_fails_is_disabled_and_its_organisation_told(notifier, webhook_receiver, employer):
    receiver = webhook_receiver(statuses=[500] * 10)
    webhook = notifier.register_webhook(employer, receiver.url, SECRET)
    notifier.deliver(sample_event("stint.application.withdrawn.v1"))
    delivery = notifier.dispatch_until(lambda: settled_and_done(notifier, webhook))

    assert delivery["status"] == "failed" and delivery["attempt_count"] == 4
    [listed] = notifier.call("GET", "/webhooks", employer).get_json()["items"]
    assert listed["enabled"] is False and "4 delivery attempts" in listed["disabled_reason"]
    inbox = notifier.call("GET", "/notifications?unread=1", employer).get_json()["items"]
    assert "A webhook was disabled" in [entry["title"] for entry in inbox]

    notifier.deliver(sample_event("stint.application.submitted.v1", application_id="app-9"))
    assert notifier.db.webhook_deliveries.count_documents({"webhook_id": webhook["id"]}) == 1
    assert len(receiver.calls) == 4


def test_a_slow_endpoint_does_not_delay_a_fast_one(notifier, webhook_receiver, employer):
    slow = webhook_receiver(delay=4.0)  # past the 1.5 s timeout
    fast = webhook_receiver()
    slow_hook = notifier.register_webhook(employer, slow.url, SECRET)
    fast_hook = notifier.register_webhook(employer, fast.url, SECRET)
    notifier.deliver(sample_event("stint.work.submitted.v1"))

    started = time.monotonic()
    assert notifier.dispatcher.dispatch_due_webhooks(notifier.db) == 2
    assert time.monotonic() - started < 1.0  # the job hands the calls to its threads and returns
    notifier.dispatch_until(lambda: settled(notifier, fast_hook), timeout=5)
    assert settled(notifier, fast_hook)["status"] == "delivered"
    assert delivery_of(notifier, slow_hook)["attempts"] == []  # the slow call is still waiting for an answer

    retry = notifier.dispatch_until(lambda: (delivery_of(notifier, slow_hook) or {}).get("attempts"), timeout=5)
    assert retry[0]["error"] == "timed out after 1.5s"


def test_a_deleted_endpoint_gets_nothing_more(notifier, webhook_receiver, employer):
    receiver = webhook_receiver()
    webhook = notifier.register_webhook(employer, receiver.url, SECRET)
    assert notifier.call("DELETE", f"/webhooks/{webhook['id']}", employer).status_code == 204
    notifier.deliver(sample_event("stint.application.submitted.v1"))
    assert delivery_of(notifier, webhook) is None
    assert notifier.call("GET", f"/webhooks/{webhook['id']}/deliveries", employer).status_code == 404


def test_the_secret_is_never_shown_again(notifier, webhook_receiver, employer):
    created = notifier.register_webhook(employer, webhook_receiver().url, SECRET)
    listed = notifier.call("GET", "/webhooks", employer).get_data(as_text=True)
    assert "secret" not in created and created["secret_hint"].endswith(SECRET[-4:])
    assert SECRET not in listed and SECRET not in json.dumps(created)


def test_the_database_refuses_a_second_delivery_for_the_same_event_recipient_and_channel(notifier):
    store.ensure_indexes(notifier.db)
    key = {"event_id": "ev-1", "recipient": "webhook:w-1", "channel": "webhook"}
    notifier.db.webhook_deliveries.insert_one({"_id": "first", **key})
    with pytest.raises(DuplicateKeyError):
        notifier.db.webhook_deliveries.insert_one({"_id": "second", **key})


def test_an_event_finds_its_organisations_endpoints_by_id_without_reading_everyone_elses(
    notifier, webhook_receiver, employer, token
):
    # Every event for an organisation looks up its endpoints; a query on `org_id` would read every organisation's
    # endpoints on FerretDB (only a filter that is exactly {_id: ...} is not a scan), so the lookup goes through the
    # organisation's index document.
    receiver = webhook_receiver()
    ours = notifier.register_webhook(employer, receiver.url, SECRET)
    for n in range(3):
        notifier.register_webhook(token("employer", sub=f"other-{n}", org=f"org-other-{n}"), receiver.url, SECRET)
    with logged(notifier.db) as (mine, commands):
        found = store.webhooks_listening(mine, ORG_ID, "stint.application.submitted.v1")
    assert [webhook["_id"] for webhook in found] == [ours["id"]]
    assert commands.sent == ["find webhook_index", "find webhooks"]
    assert all(list(query) == ["_id"] and isinstance(query["_id"], str) for query in commands.filters)


def test_endpoints_registered_before_the_index_existed_are_still_found_and_listed(notifier, webhook_receiver, employer):
    receiver = webhook_receiver()
    webhook = notifier.register_webhook(employer, receiver.url, SECRET)
    notifier.db[store.WEBHOOK_INDEX].drop()  # as a database from before the index was added
    store.ensure_indexes(notifier.db)
    assert [w["_id"] for w in store.webhooks_listening(notifier.db, ORG_ID, "stint.application.submitted.v1")] == [
        webhook["id"]
    ]
    listed = notifier.call("GET", "/webhooks", employer).get_json()
    assert [w["id"] for w in listed["items"]] == [webhook["id"]]
