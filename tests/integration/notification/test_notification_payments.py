"""Payment events reach the student or the organisation; a dispute also lands in the administrators' inbox."""

from __future__ import annotations

from tests.integration.notification.test_notification_inbox_and_email import ACME_EMAIL, inbox_of, parts
from tests.unit.notification.notification_samples import ORG_ID, sample_event


def test_a_dispute_reaches_the_org_by_email_and_every_admin_in_the_app(notifier, smtp_server, token):
    notifier.deliver(sample_event("stint.org.registered.v1", contact_email=ACME_EMAIL))
    disputed = sample_event("stint.payment.disputed.v1", application_id="app-9")
    notifier.publish(disputed)
    notifier.deliver(disputed)  # delivered twice: still one message each

    assert sorted(entry["recipient"] for entry in inbox_of(notifier.db, disputed)) == [f"org:{ORG_ID}", "role:admin"]
    assert notifier.send_emails() == 1  # the organisation's; admins read theirs in the app
    [message] = smtp_server.to(ACME_EMAIL)
    assert message["Subject"] == "Asha Rao disputes the payment for Dashboard for field sales"
    assert "only &lt;b&gt;half&lt;/b&gt; arrived" in parts(message)["text/html"]
    assert "15000.00 INR, paid on 2030-02-20" in parts(message)["text/plain"]

    for bearer in (token("admin", sub="ops-1"), token("admin", sub="ops-2")):
        [item] = notifier.call("GET", "/notifications", bearer).get_json()["items"]
        assert item["title"] == message["Subject"]
        assert notifier.call("POST", f"/notifications/{item['id']}/read", bearer).status_code == 200
    assert notifier.call("GET", "/notifications", token("student", sub="stu-1")).get_json()["items"] == []


def test_a_recorded_payment_reaches_the_student_and_a_confirmation_the_org(notifier):
    recorded = sample_event("stint.payment.recorded.v1", application_id="app-1")
    confirmed = sample_event("stint.payment.confirmed.v1", application_id="app-1")
    notifier.deliver(recorded, confirmed)
    assert [e["recipient"] for e in inbox_of(notifier.db, recorded)] == ["user:stu-1"]
    assert [e["recipient"] for e in inbox_of(notifier.db, confirmed)] == [f"org:{ORG_ID}"]
    assert "recorded paying you 15000.00 INR" in inbox_of(notifier.db, recorded)[0]["body"]
