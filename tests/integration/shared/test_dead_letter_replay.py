"""After a fix, an operator lists the dead letters, reads one, and replays them: each effect happens once, however
often the replay runs. The real broker and database, the real CLI."""

from __future__ import annotations

import re
import uuid

import pytest

from shared import dlq
from tests.support.pipeline import consume_until, consumer_for, publish_pending
from tests.support.samples import register_org


def cli(settings, monkeypatch, capsys, *args: str) -> tuple[str, str]:
    monkeypatch.setenv("STINT_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    monkeypatch.setenv("STINT_TOPIC_PREFIX", settings.topic_prefix)
    assert dlq.main(list(args)) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_dead_letters_are_listed_shown_and_replayed_once_after_the_fix(settings, db, monkeypatch, capsys):
    orgs = [register_org(db, name) for name in ("Acme", "Globex")]
    publish_pending(settings, [db.orgs])
    broken = consumer_for(settings, db, ["listing"], {"stint.org.registered.v1": lambda e: 1 / 0})
    try:
        consume_until(broken, lambda: len(dlq.read(settings.kafka_bootstrap, dlq_topic(settings))[0]) == 2)
    finally:
        broken.close()

    listed, summary = cli(settings, monkeypatch, capsys, "list", "listing")
    assert "2 dead letter(s)" in summary
    letters = [line for line in listed.splitlines() if re.match(r"\s*\d+:\d+ ", line)]  # the test's logs share stdout
    assert len(letters) == 2
    assert all("stint.org.registered.v1" in line and "division by zero" in line for line in letters)
    first = letters[0].split()[0]
    shown, _ = cli(settings, monkeypatch, capsys, "show", "listing", first)
    assert '"error": "division by zero"' in shown and '"type": "stint.org.registered.v1"' in shown

    effects = []

    def fixed(event):
        effects.append(event["subject"])
        return "handled"

    _, said = cli(settings, monkeypatch, capsys, "replay", "listing", "--all")
    assert "replayed 2" in said
    _, said = cli(settings, monkeypatch, capsys, "replay", "listing", "--all")
    assert "replayed 0" in said  # --all remembers what it replayed
    cli(settings, monkeypatch, capsys, "replay", "listing", first)  # an operator replays one by hand, again

    consumer = consumer_for(
        settings, db, ["listing"], {"stint.org.registered.v1": fixed}, group=f"fixed-{uuid.uuid4()}"
    )
    try:
        consume_until(consumer, lambda: sorted(set(effects)) == sorted(orgs))
        for _ in range(5):
            consumer.poll_once()
    finally:
        consumer.close()
    assert sorted(effects) == sorted(orgs)  # each org handled once: the dedupe holds across replays


def dlq_topic(settings) -> str:
    return dlq.dlq_topic("listing", settings.topic_prefix)


def test_an_unknown_position_is_refused_with_a_message(settings, monkeypatch, capsys):
    monkeypatch.setenv("STINT_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    monkeypatch.setenv("STINT_TOPIC_PREFIX", settings.topic_prefix)
    with pytest.raises(SystemExit):
        dlq.main(["show", "listing", "0:999"])
    assert "no message at 0:999" in capsys.readouterr().err
