"""Channels, idempotency keys, message lines, webhook signatures and the retry policy."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from services.notification import domain
from services.notification.domain import EMAIL, IN_APP, Addressee, DeliveryPolicy, Preferences

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
STUDENT = Addressee("user:stu-1", "Asha", "asha@example.org")
ORG = Addressee("org:acme", "Acme", "team@acme.example")


def test_a_user_hears_on_every_channel_until_they_turn_one_off():
    assert domain.channels_for(STUDENT, Preferences()) == [IN_APP, EMAIL]
    assert domain.channels_for(STUDENT, Preferences(email=False)) == [IN_APP]
    assert domain.channels_for(STUDENT, Preferences(in_app=False, email=False)) == []


def test_nobody_is_emailed_without_an_address():
    assert domain.channels_for(Addressee("user:stu-2", "Ben", ""), Preferences()) == [IN_APP]
    assert domain.channels_for(Addressee("org:acme", "Acme", ""), Preferences()) == [IN_APP]


def test_an_organisation_hears_in_app_and_by_email_regardless_of_any_users_preferences():
    assert domain.channels_for(ORG, Preferences(in_app=False, email=False)) == [IN_APP, EMAIL]


def test_preferences_default_to_all_on_and_read_stored_choices():
    assert Preferences.from_document(None) == Preferences(True, True, True)
    assert Preferences.from_document({"email": False}) == Preferences(True, False, True)


def test_the_same_event_recipient_and_channel_always_get_the_same_id():
    first = domain.notification_id("ev-1", "user:stu-1", IN_APP)
    assert first == domain.notification_id("ev-1", "user:stu-1", IN_APP)
    others = {
        domain.notification_id("ev-1", "user:stu-1", EMAIL),
        domain.notification_id("ev-1", "user:stu-2", IN_APP),
        domain.notification_id("ev-2", "user:stu-1", IN_APP),
    }
    assert first not in others and len(others) == 3


def test_employers_and_universities_also_read_their_organisations_inbox():
    assert domain.inbox_owners("stu-1", "student", None) == ["user:stu-1"]
    assert domain.inbox_owners("emp-1", "employer", "acme") == ["user:emp-1", "org:acme"]
    assert domain.inbox_owners("uni-1", "university", "iitm") == ["user:uni-1", "org:iitm"]
    # Administrators also read the administrators' inbox, where payment disputes land.
    assert domain.inbox_owners("adm-1", "admin", "acme") == ["user:adm-1", "role:admin"]


def test_user_text_with_braces_or_line_breaks_cannot_break_a_title():
    context = {"listing_title": "Fix {student_name} {0!r}\r\nBcc: evil@example.org"}
    title = domain.render_line("New application for {listing_title}", context)
    assert title == "New application for Fix {student_name} {0!r} Bcc: evil@example.org"
    assert "\n" not in title


def test_a_credit_decision_goes_to_the_universitys_webhooks_and_the_rest_to_the_employers():
    decision = {"org_id": "acme", "university_org": "iitm"}
    assert domain.org_concerned("stint.certificate.credit_decided.v1", decision) == "iitm"
    assert domain.org_concerned("stint.work.approved.v1", {"org_id": "acme"}) == "acme"


def test_a_webhook_hears_the_types_it_chose_or_everything_with_a_star():
    assert domain.subscribes_to(["stint.work.submitted.v1"], "stint.work.submitted.v1")
    assert not domain.subscribes_to(["stint.work.submitted.v1"], "stint.work.approved.v1")
    assert domain.subscribes_to(["*"], "stint.work.approved.v1")


def test_the_signature_is_the_hmac_sha256_of_the_raw_body():
    body = b'{"id":"1"}'
    expected = hmac.new(b"s3cret-s3cret-s3cret", body, hashlib.sha256).hexdigest()
    assert domain.signature(body, "s3cret-s3cret-s3cret") == f"sha256={expected}"


def test_the_secret_hint_shows_only_the_last_four_characters():
    hint = domain.mask_secret("abcdefghijklmnop-WXYZ")
    assert hint.endswith("WXYZ") and "abcd" not in hint


def test_retries_back_off_exponentially_until_the_attempts_are_used_up():
    policy = DeliveryPolicy(max_attempts=4, backoff_seconds=10)
    delays = [policy.next_attempt_at(n, NOW) for n in (1, 2, 3, 4)]
    assert delays[:3] == [NOW + timedelta(seconds=s) for s in (10, 20, 40)]
    assert delays[3] is None


def test_the_policy_reads_its_settings_and_refuses_nonsense():
    policy = DeliveryPolicy.from_settings({"STINT_WEBHOOK_BACKOFF_SECONDS": "0.2", "STINT_WEBHOOK_MAX_ATTEMPTS": "3"})
    assert (policy.backoff_seconds, policy.max_attempts, policy.timeout_seconds) == (0.2, 3, 5.0)
    with pytest.raises(ValueError):
        DeliveryPolicy.from_settings({"STINT_WEBHOOK_MAX_ATTEMPTS": "0"})
