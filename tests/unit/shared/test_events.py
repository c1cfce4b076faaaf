import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.events import CATALOG, EventSchemaError, encode_event, new_event, parse_event, read_event, topic_for

ORG = {"org_id": "acme", "name": "Acme", "status": "pending"}


def test_an_event_is_a_cloudevent_in_structured_json_mode():
    event = new_event(
        "stint.org.registered.v1", "listing", "acme", ORG, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    )
    decoded = json.loads(encode_event(event))
    assert decoded["specversion"] == "1.0"
    assert decoded["source"] == "/stint/listing"
    assert decoded["subject"] == "acme"
    assert decoded["datacontenttype"] == "application/json"
    assert decoded["traceparent"].startswith("00-")
    assert parse_event(encode_event(event))["id"] == event["id"]


def test_a_producer_cannot_build_an_event_that_fails_its_schema():
    with pytest.raises(EventSchemaError, match="name"):
        new_event("stint.org.registered.v1", "listing", "acme", {"org_id": "acme", "status": "pending"})


def test_an_unknown_event_type_cannot_be_built():
    with pytest.raises(EventSchemaError, match="unknown event type"):
        new_event("stint.org.exploded.v1", "listing", "acme", ORG)


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1,2]", b'{"specversion": "1.0"}', "\udcff".encode("utf-8", "surrogatepass"), None]
)
def test_malformed_messages_are_refused_with_a_reason(raw):
    with pytest.raises(EventSchemaError):
        parse_event(raw)


def test_a_known_type_with_bad_data_is_refused_on_parse():
    event = new_event("stint.org.registered.v1", "listing", "acme", ORG)
    event["data"]["status"] = "exploded"
    with pytest.raises(EventSchemaError, match="status"):
        parse_event(json.dumps(event))


def test_an_unknown_type_passes_the_envelope_check_so_consumers_can_skip_it():
    event = new_event("stint.org.registered.v1", "listing", "acme", ORG)
    event["type"] = "stint.org.renamed.v2"
    parsed = parse_event(json.dumps(event))
    assert (parsed.type, parsed.data) == ("stint.org.renamed.v2", None)


def test_a_consumer_reads_the_event_typed_and_the_envelope_as_sent():
    data = {
        "application_id": "app-1",
        "listing_id": "L1",
        "listing_title": "Dashboard",
        "org_id": "acme",
        "student": {"id": "stu-1", "name": "Asha"},
        "status": "disputed",
        "amount": "15000.00",
        "currency": "INR",
        "paid_on": "2026-11-02T10:00:00+00:00",
        "later_field": "a producer added it",
    }
    sent = new_event("stint.payment.disputed.v1", "application", "app-1", data)
    event = parse_event(encode_event(sent))
    assert (event.id, event.type, event.subject) == (sent["id"], sent["type"], "app-1")
    assert event.time == datetime.fromisoformat(sent["time"]) and event.time.tzinfo is not None
    assert event.data.amount == Decimal("15000.00")
    assert event.data.paid_on == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert (event.data.student.id, event.data.student.name, event.data.student.email) == ("stu-1", "Asha", "")
    assert event.data.previous_status is None and event.data.disputed_at is None  # optional fields read as None
    assert not hasattr(event.data, "later_field")  # the typed data holds what the catalog declares ...
    assert event.envelope == sent and event["data"]["later_field"] == "a producer added it"  # ... the envelope all
    with pytest.raises(AttributeError):
        event.data.status = "confirmed"  # frozen


def test_an_event_built_here_is_read_as_a_consumer_would_read_it():
    sent = new_event("stint.org.registered.v1", "listing", "acme", ORG)
    event = read_event(sent)
    assert event.data.name == "Acme" and event.envelope is sent
    assert read_event(event) is event  # reading a read event again checks nothing twice


def test_every_catalog_type_is_versioned_and_has_a_topic():
    for event_type in CATALOG:
        assert event_type.rsplit(".", 1)[1].startswith("v")
        assert topic_for(event_type).startswith("stint.")
