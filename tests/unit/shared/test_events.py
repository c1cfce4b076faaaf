import json

import pytest

from shared.events import CATALOG, EventSchemaError, encode_event, new_event, parse_event, topic_for

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
    "raw", [b"not json", b"[1,2]", b'{"specversion": "1.0"}', "\udcff".encode("utf-8", "surrogatepass")]
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
    assert parse_event(json.dumps(event))["type"] == "stint.org.renamed.v2"


def test_every_catalog_type_is_versioned_and_has_a_topic():
    for event_type in CATALOG:
        assert event_type.rsplit(".", 1)[1].startswith("v")
        assert topic_for(event_type).startswith("stint.")
