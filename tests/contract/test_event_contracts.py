"""Producers and consumers agree on the events: every type a worker handles is in the catalog and on a
topic the worker reads, and every catalog type is built by the service whose topic carries it.
(That each built event matches its schema is enforced at run time by shared.events.new_event.)"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from shared.events import CATALOG, TOPICS, topic_for

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("listing", "application", "certification", "notification")
# A literal type, or an f-string whose event name is a placeholder: f"stint.work.{kind}.v1".
EVENT_TYPE = re.compile(r'"(stint\.[a-z_]+\.(?:[a-z_]+|\{[a-z_]+\})\.v\d+)"')


def worker(service: str):
    return importlib.import_module(f"services.{service}.worker")


def types_named_by(service: str) -> set[str]:
    """The event types a service's code names outside its worker's handler table (literally or as a pattern)."""
    found = set()
    for path in (ROOT / "services" / service).glob("*.py"):
        if path.name != "worker.py":
            for pattern in EVENT_TYPE.findall(path.read_text()):
                found |= {t for t in CATALOG if _matches(pattern, t)}
    return found


def _matches(pattern: str, event_type: str) -> bool:
    """True when `event_type` fits `pattern`, where a {placeholder} stands for any event name."""
    regex = "[a-z_]+".join(re.escape(part) for part in re.split(r"\{[a-z_]+\}", pattern))
    return re.fullmatch(regex, event_type) is not None


@pytest.mark.parametrize("service", SERVICES)
def test_every_handled_type_is_in_the_catalog_and_on_a_topic_the_worker_reads(service):
    module = worker(service)
    read_topics = {TOPICS[name] for name in module.CONSUMES}
    for event_type in module.HANDLERS:
        assert event_type in CATALOG, f"{service} handles {event_type}, which no schema describes"
        assert topic_for(event_type) in read_topics, f"{service} handles {event_type} but never reads its topic"


def test_each_catalog_type_is_built_by_the_service_that_owns_its_topic():
    for service, topic in TOPICS.items():
        owned = {event_type for event_type in CATALOG if topic_for(event_type) == topic}
        missing = owned - types_named_by(service)
        assert not missing, f"{service} owns {topic} but never builds {sorted(missing)}"


def test_the_notification_service_hears_every_event_of_the_catalog():
    assert set(worker("notification").HANDLERS) == set(CATALOG)
