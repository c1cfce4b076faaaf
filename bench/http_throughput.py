"""HTTP throughput: requests per second and latency of the main endpoints, next to two baselines.

The load comes from `wrk` (a compiled load generator, Debian package `wrk`; `make bench` installs it when missing),
so the baselines are the servers' limit and not the client's: a fixed number of connections from two wrk threads,
back to back for a fixed duration, on loopback. Both baselines are bench/minimal_app.py under the services' gunicorn
settings, measured in the same run:

- the floor, `POST /floor`: insert one document and read one by `_id` on the same MongoDB-compatible server; the
  least a request that stores something costs on this store. Every target's throughput is given as a ratio to it.
- `GET /ping`: Flask and gunicorn alone, measured first and again last so drift during the run shows.

Measured as a target too, before apply: the outbox floor, `POST /floor/outbox` (one insert carrying one event
through the services' outbox, published by the writer at once): what storing something and announcing it costs in
this design, the part of an apply no implementation of it can leave out. Apply is reported against it as well.

`POST /verify` is measured three times: the same credential each time (verified again and again, as its page and its
verifiers do, which the service answers from the canonical form it remembers); at first sight (the same credential
with its keys in another order each time, as a wallet may hand it back: a text not seen before, which the service
checks against what it kept when it signed the credential); and other such texts once the service has forgotten those
bytes, as for a credential issued before they were kept (each canonicalised in full: the cost of any credential the
service cannot match to its own copy).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pymongo import MongoClient

from bench.support import Platform, call, token

WRK_THREADS = 2
OUTBOX_FLOOR = "outbox floor: insert with one event, published (POST /floor/outbox)"
APPLY = "application: POST /applications"
# Per connection and second of load, more distinct students than the fastest apply could use.
TOKENS_PER_CONNECTION_SECOND = 150
# Per connection and second, more texts of the credential than a first-sight verify gets through.
FIRST_SIGHTS_PER_CONNECTION_SECOND = 60

# Lua run inside wrk: counts answers other than the expected status, keeps the first one, prints a JSON summary.
SCRIPT = """
local threads, count = {}, 0
function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end
unexpected, first_error = 0, ""
function response(status, headers, body)
  if status ~= %(expect)d then
    unexpected = unexpected + 1
    if first_error == "" then
      first_error = status .. ": " .. string.gsub(string.sub(body or "", 1, 200), "[^%%w%%p ]", " ")
    end
  end
end
%(request)s
function done(summary, latency, requests)
  local unexpected_total, first = 0, ""
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + thread:get("unexpected")
    if first == "" then first = thread:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"unexpected\\": %%d, \\"socket_errors\\": %%d, " ..
    "\\"p50_us\\": %%d, \\"p95_us\\": %%d, \\"p99_us\\": %%d}\\n",
    summary.requests, summary.duration, unexpected_total, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
  io.write("WRK_FIRST_ERROR " .. first .. "\\n")
end
"""

FIXED_REQUEST = """
wrk.method = %(method)s
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
"""

# Each wrk thread walks its own stride of a file's lines (from the start again only if they run out).
LINES = """
local lines, index = {}, 0
function init(args)
  for line in io.lines(%(lines)s) do table.insert(lines, line) end
  index = id
end
local function next_line()
  local line = lines[(index - 1) %% #lines + 1]
  index = index + %(threads)d
  return line
end
"""

# One distinct student per request: a file of pre-minted tokens.
APPLY_REQUEST = """
function request()
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. next_line()}
  return wrk.format("POST", nil, headers, %(body)s)
end
"""

# A different body each request: a file of them.
VARIED_REQUEST = """
function request()
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, next_line())
end
"""


@dataclass
class LoadResult:
    """What one target answered under load."""

    name: str
    seconds: float
    answered: int = 0
    errors: int = 0
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")
    p99_ms: float = float("nan")
    first_error: str = ""

    @property
    def requests_per_second(self) -> float:
        """Requests answered with the expected status, per second."""
        return self.answered / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    """The wrk executable; a clear error when it is missing."""
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError(
            "wrk is not installed: `make bench` installs it (Debian package wrk), or apt-get install wrk"
        )
    return found


def lua(value: str) -> str:
    """A Lua string literal."""
    return json.dumps(value)  # a JSON string of printable ASCII is a valid Lua literal


def load(name: str, url: str, script: str, duration: float, connections: int) -> LoadResult:
    """Run wrk against `url` with `script` for `duration` seconds; parse its summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = [wrk_path(), "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{duration:.0f}s"]
        command += ["--timeout", "30s", "-s", handle.name, url]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    summary = re.search(r"^WRK_RESULT (.*)$", finished.stdout, re.M)
    if not summary:
        raise RuntimeError(f"wrk gave no summary for {name}: {finished.stdout[-500:]} {finished.stderr[-500:]}")
    numbers = json.loads(summary.group(1))
    first_error = re.search(r"^WRK_FIRST_ERROR ?(.*)$", finished.stdout, re.M)
    errors = numbers["unexpected"] + numbers["socket_errors"]
    return LoadResult(
        name,
        seconds=numbers["duration_us"] / 1e6,
        answered=numbers["requests"] - numbers["unexpected"],
        errors=errors,
        p50_ms=numbers["p50_us"] / 1000,
        p95_ms=numbers["p95_us"] / 1000,
        p99_ms=numbers["p99_us"] / 1000,
        first_error=(first_error.group(1).strip() if first_error else "") or ("socket errors" if errors else ""),
    )


def fixed(method: str, body: dict | None, expect: int) -> str:
    """A wrk script sending the same request each time."""
    request = FIXED_REQUEST % {"method": lua(method), "body": lua(json.dumps(body)) if body is not None else "nil"}
    return SCRIPT % {"expect": expect, "request": request}


def applying(listing_id: str, tokens_file: Path, expect: int) -> str:
    """A wrk script applying to `listing_id` as a different student each time."""
    body = json.dumps({"listing_id": listing_id, "cover_note": "Keen to help.", "answers": []})
    request = _lines(tokens_file) + APPLY_REQUEST % {"body": lua(body)}
    return SCRIPT % {"expect": expect, "request": request}


def varying(bodies_file: Path, expect: int) -> str:
    """A wrk script posting the next line of `bodies_file` each time."""
    request = _lines(bodies_file) + VARIED_REQUEST
    return SCRIPT % {"expect": expect, "request": request}


def _lines(path: Path) -> str:
    """The Lua giving each wrk thread `next_line()` of `path`."""
    return LINES % {"lines": lua(str(path)), "threads": WRK_THREADS}


def first_sights(path: Path, credential: dict, count: int) -> Path:
    """`count` JSON texts of `credential`, one a line, each with its object keys in another order: the same signed
    credential (its canonical form does not depend on key order, so each verifies), but a text the certification
    service has not seen, so nothing it remembers answers it: each request canonicalises as on first sight."""
    import random

    def shuffled(value, rng: random.Random):
        if isinstance(value, dict):
            keys = list(value)
            rng.shuffle(keys)
            return {key: shuffled(value[key], rng) for key in keys}
        if isinstance(value, list):
            return [shuffled(item, rng) for item in value]
        return value

    rng, texts = random.Random(13), set()
    for _ in range(count * 50):
        texts.add(json.dumps(shuffled(credential, rng), separators=(",", ":")))
        if len(texts) == count:
            break
    path.write_text("".join(text + "\n" for text in texts))
    return path


def verifies_as_issued(platform: Platform, texts: Path) -> None:
    """The reordered texts still verify (else the load would measure refusals, which also answer 200)."""
    import requests

    for text in texts.read_text().splitlines()[:3]:
        answer = call(
            requests.Session(),
            "POST",
            platform.url("certification", "/verify"),
            200,
            data=text,
            headers={"Content-Type": "application/json"},
        )
        if answer.get("verified") is not True:
            raise RuntimeError(f"a reordered text of the credential did not verify: {answer}")


CANONICALISED = "certification: POST /verify, first sight, canonicalised"


def forget_what_was_signed(platform: Platform, credential: dict) -> None:
    """The certification service's kept bytes of `credential` dropped, as for one issued before they were kept."""
    credential_uuid = credential["id"].removeprefix("urn:uuid:")
    with MongoClient(platform.mongo_url) as client:
        documents = client[platform.database("certification")]["credential_documents"]
        documents.update_one({"_id": credential_uuid}, {"$unset": {"signed": ""}})


def seed_listings(platform: Platform, count: int) -> None:
    """Bulk-insert `count` published listings straight into the listing service's store."""
    import random

    from bench.listing_search import fill_to

    client = MongoClient(platform.mongo_url, tz_aware=True)
    try:
        db = client[platform.database("listing")]
        fill_to(db, db["listings"].estimated_document_count() + count, random.Random(7), datetime.now(UTC))
    finally:
        client.close()


def student_tokens(path: Path, count: int) -> Path:
    """A file of `count` tokens of distinct students, one a line."""
    run = uuid.uuid4().hex[:6]
    path.write_text("".join(token("student", sub=f"thr-{run}-{n}") + "\n" for n in range(count)))
    return path


def run(
    platform: Platform,
    minimal_url: str,
    floor_database: str,
    listing_id: str,
    credential: dict,
    duration: float,
    connections: int,
    word: str = "dashboard",
) -> list[LoadResult]:
    """Load the floor, then each target followed by the floor again; each floor starts from an empty collection.

    The machine is shared, so a target is compared with the floors measured just before and just after it
    (`floor_around`), and the floor's own collection is emptied before each of its runs: FerretDB's by-`_id`
    read slows as a collection grows, and the floor should not drift for that reason.
    """
    floor = ("floor: insert + read by _id (POST /floor)", f"{minimal_url}/floor", fixed("POST", {}, 201))
    with tempfile.TemporaryDirectory(prefix="stint-bench-wrk-") as tmp:
        tokens = student_tokens(Path(tmp) / "students", int(TOKENS_PER_CONNECTION_SECOND * connections * duration))
        count = int(FIRST_SIGHTS_PER_CONNECTION_SECOND * connections * duration)
        both = first_sights(Path(tmp) / "credentials", credential, 2 * count).read_text().splitlines(keepends=True)
        # Two loads of first sights, each with its own texts: the second must not meet what the first had seen.
        texts, other_texts = Path(tmp) / "first", Path(tmp) / "first-canonicalised"
        texts.write_text("".join(both[:count]))
        other_texts.write_text("".join(both[count:]))
        verifies_as_issued(platform, texts)
        targets = [
            ("Flask + gunicorn alone: GET /ping", f"{minimal_url}/ping", fixed("GET", None, 200)),
            (
                f"listing: GET /listings?q={word}",
                platform.url("listing", f"/listings?q={word}"),
                fixed("GET", None, 200),
            ),
            (OUTBOX_FLOOR, f"{minimal_url}/floor/outbox", fixed("POST", {}, 201)),
            (APPLY, platform.url("application", "/applications"), applying(listing_id, tokens, 201)),
            ("certification: POST /verify", platform.url("certification", "/verify"), fixed("POST", credential, 200)),
            (
                "certification: POST /verify, first sight",
                platform.url("certification", "/verify"),
                varying(texts, 200),
            ),
            (CANONICALISED, platform.url("certification", "/verify"), varying(other_texts, 200)),
        ]
        results = [_floor(platform, floor_database, floor, duration, connections)]
        for name, url, script in targets:
            if name == CANONICALISED:
                forget_what_was_signed(platform, credential)
            results.append(load(name, url, script, duration, connections))
            results.append(_floor(platform, floor_database, floor, duration, connections))
        return results


def _floor(platform: Platform, database: str, floor: tuple, duration: float, connections: int) -> LoadResult:
    """The floor measured on an empty collection."""
    client = MongoClient(platform.mongo_url)
    try:
        client[database].drop_collection("floor")
    finally:
        client.close()
    name, url, script = floor
    return load(name, url, script, duration, connections)


def floor_around(results: list[LoadResult], index: int) -> float:
    """The floor's throughput around the result at `index`: the mean of the floors measured just before and after."""
    around = [r.requests_per_second for r in results[max(0, index - 1) : index + 2] if r.name.startswith("floor")]
    return sum(around) / len(around) if around else float("nan")
