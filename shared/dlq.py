"""Dead letters: list, show and replay the messages of a `<topic>.dlq` after the fix is deployed.

    python -m shared.dlq list application          # stint.application.dlq (STINT_TOPIC_PREFIX applies)
    python -m shared.dlq show application 0:12     # one message: headers (the error) and the event
    python -m shared.dlq replay application 0:12   # put it back on stint.application
    python -m shared.dlq replay application --all  # every message not replayed before

Replaying publishes the original key and value to the original topic; the consumers' dedupe (the handled event ids)
means a message replayed twice, or one whose first delivery did succeed, still changes nothing twice. `--all`
remembers what it replayed in the consumer group `stint-dlq-replay`, so running it again replays only new letters.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from shared.events import DLQ_SUFFIX, TOPICS

REPLAY_GROUP = "stint-dlq-replay"
POLL_MS = 1000


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter topic."""

    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str]

    @property
    def position(self) -> str:
        """`partition:offset`, how the commands name a message."""
        return f"{self.partition}:{self.offset}"

    def event(self) -> dict:
        """The event, or what could be read of it."""
        try:
            return json.loads(self.value)
        except ValueError:
            return {"unparseable": self.value[:200].decode("utf-8", "replace")}

    def summary(self) -> str:
        """One line: where, which event, why it failed."""
        event = self.event()
        error = self.headers.get("error", "")[:120]
        return (
            f"{self.position:>8}  {self.headers.get('failed_at', '')[:19]}  {event.get('type', '?')}  "
            f"{event.get('id', '?')}  attempts={self.headers.get('attempts', '?')}  {error}"
        )


def dlq_topic(name: str, prefix: str = "") -> str:
    """The dead-letter topic of a service name (`application`) or a topic (`stint.application`)."""
    topic = TOPICS.get(name, name)
    topic = topic if topic.startswith(prefix) else prefix + topic
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


def read(bootstrap: str, topic: str, group: str | None = None) -> tuple[list[DeadLetter], KafkaConsumer]:
    """Every message of `topic` (from the group's committed offsets when a group is given) and the consumer."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=POLL_MS * 3,
    )
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not partitions:
        consumer.close()
        raise SystemExit(f"no topic {topic}")
    consumer.assign(partitions)
    if group is None:
        consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    letters = []
    while any(consumer.position(p) < ends[p] for p in partitions):
        for records in consumer.poll(timeout_ms=POLL_MS).values():
            for r in records:
                headers = {k: v.decode("utf-8", "replace") for k, v in (r.headers or [])}
                key = r.key.decode("utf-8", "replace") if r.key else None
                letters.append(DeadLetter(r.partition, r.offset, key, r.value, headers))
    return letters, consumer


def replay(bootstrap: str, letters: list[DeadLetter], original_topic: str) -> int:
    """Publish each letter's key and value back to its original topic; return how many."""
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", enable_idempotence=True)
    try:
        for letter in letters:
            topic = letter.headers.get("original_topic") or original_topic
            key = letter.key.encode() if letter.key is not None else None
            producer.send(topic, key=key, value=letter.value, headers=[("replayed_from", letter.position.encode())])
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)
    return len(letters)


def main(argv: list[str] | None = None) -> int:
    """CLI: list, show or replay dead letters (reads STINT_KAFKA_BOOTSTRAP and STINT_TOPIC_PREFIX from env or .env)."""
    from shared.dotenv import load_dotenv

    parser = argparse.ArgumentParser(prog="python -m shared.dlq", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "show", "replay"):
        command = sub.add_parser(name)
        command.add_argument("topic", help="a service (listing, application, certification) or a topic")
        if name != "list":
            command.add_argument("positions", nargs="*", help="partition:offset of each message")
        if name == "replay":
            command.add_argument("--all", action="store_true", help="every message not replayed before")
    args = parser.parse_args(argv)
    env = load_dotenv()
    bootstrap = env.get("STINT_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    topic = dlq_topic(args.topic, env.get("STINT_TOPIC_PREFIX", ""))
    every = args.command == "replay" and args.all
    letters, consumer = read(bootstrap, topic, REPLAY_GROUP if every else None)
    try:
        if args.command == "list":
            for letter in letters:
                print(letter.summary())
            print(f"{len(letters)} dead letter(s) in {topic}", file=sys.stderr)
            return 0
        if not every:
            wanted = set(args.positions)
            letters = [letter for letter in letters if letter.position in wanted]
            missing = wanted - {letter.position for letter in letters}
            if missing or not wanted:
                parser.error(f"no message at {', '.join(sorted(missing)) or '(none given)'} in {topic}")
        if args.command == "show":
            for letter in letters:
                print(
                    json.dumps(
                        {"position": letter.position, "headers": letter.headers, "event": letter.event()}, indent=2
                    )
                )
            return 0
        count = replay(bootstrap, letters, topic.removesuffix(DLQ_SUFFIX))
        if every:  # remember how far --all got, so the next run replays only new letters
            consumer.commit({tp: OffsetAndMetadata(consumer.position(tp), None, -1) for tp in consumer.assignment()})
        print(f"replayed {count} message(s) from {topic}", file=sys.stderr)
        return 0
    finally:
        consumer.close()


if __name__ == "__main__":
    sys.exit(main())
