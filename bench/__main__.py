"""`make bench`: end-to-end latency, HTTP throughput and growth with data, on real servers and real processes.

    python -m bench                      # default run, about 10 minutes; writes docs/benchmarks.md
    python -m bench --100k               # growth also at 100,000 listings and credentials (long on FerretDB)
    python -m bench --store-benches      # also bench.listing_search and bench.credentials on the same FerretDB
    python -m bench --quick --no-docs    # a smoke run of everything, numbers not written
    python -m bench --approvals 1200 --interval 0.05 --latency-only --no-docs   # 20 approvals/s for 60 s

It provisions Kafka and FerretDB like the tests (or uses STINT_KAFKA_BOOTSTRAP + STINT_MONGO_URL), starts every
service's api under gunicorn and its worker, plus a minimal Flask app under the same gunicorn settings, measures,
prints the tables and writes them with the date and machine notes into docs/benchmarks.md. Every number comes with
a baseline measured in the same run; read the ratios, the machines here are noisy. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

import requests

from bench import e2e_latency, growth, http_throughput
from bench.support import (
    ROOT,
    call,
    fmt,
    machine_notes,
    markdown_table,
    minimal_app,
    now_stamp,
    ratio,
    real_servers,
    running_platform,
    text_table,
    token,
    wait_until_quiet,
)

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
THROUGHPUT_SEED_LISTINGS = 200
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \S+ \[(debug|info)\s*\]")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--approvals", type=int, default=40, help="approvals for the end-to-end latency (40)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between approvals (0.5)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per throughput target (10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections per throughput target (8)")
    parser.add_argument("--100k", dest="hundred_k", action="store_true", help="growth also at 100,000 (slow)")
    parser.add_argument("--samples", type=int, default=10, help="most requests per growth probe and size (10)")
    parser.add_argument("--no-growth", action="store_true", help="leave out growth with data (the longest part)")
    parser.add_argument("--no-throughput", action="store_true", help="leave out the HTTP throughput (wrk) part")
    parser.add_argument(
        "--latency-only", action="store_true", help="only the end-to-end latency (--no-throughput --no-growth)"
    )
    parser.add_argument("--store-benches", action="store_true", help="also run bench.listing_search, bench.credentials")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and durations: a smoke run")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.sizes = [1_000, 10_000] + ([100_000] if args.hundred_k else [])
    if args.latency_only:
        args.no_throughput = args.no_growth = True
    if args.quick:
        args.approvals, args.duration, args.samples, args.sizes = 8, 2.0, 3, [300]
    return args


def main(argv: list[str] | None = None) -> None:
    """Provision, measure, report."""
    args = parse(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stint-bench-") as tmp:
        run_dir = Path(tmp)
        with real_servers(run_dir) as servers:
            notes = machine_notes(servers.kind)
            print(f"bench: {notes}", flush=True)
            sections = measure_everything(args, servers, run_dir)
    sections["elapsed"] = time.monotonic() - started
    report = render(args, notes, sections)
    print("\n" + report["text"])
    if not args.no_docs:
        write_doc(report["markdown"])
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    print(f"bench: done in {sections['elapsed']:.0f} s")


def measure_everything(args: argparse.Namespace, servers, run_dir: Path) -> dict:
    """Run every benchmark on one platform and one minimal app; a failing one is reported, the others still run."""
    from tests.support.smtp import smtp_server

    sections: dict = {"errors": {}, "timings": {}}
    with (
        smtp_server() as mail,
        running_platform(servers, run_dir, mail.url) as platform,
        minimal_app(run_dir, servers.mongo_url, f"{platform.namespace}_floor", servers.bootstrap) as minimal_url,
    ):
        probes: dict = {}
        with step(sections, "end-to-end latency"):
            kafka_count = 40 if args.quick else 200
            sections["latency"], approvals = e2e_latency.run(
                platform, args.approvals, args.interval, kafka_count, kafka_interval=0.05
            )
            probes = issued_credential(platform, approvals)
        if not (args.no_throughput and args.no_growth):
            with step(sections, "growth probes" if args.no_throughput else "throughput"):
                probes |= throughput_probes(platform)
                if not args.no_throughput:
                    # What the approvals set off (emails above all) runs on after their last inbox entry.
                    sections["throughput_quiet_after"] = wait_until_quiet(platform)
                    sections["throughput"] = http_throughput.run(
                        platform,
                        minimal_url,
                        f"{platform.namespace}_floor",
                        probes["listing_id"],
                        probes["credential"],
                        args.duration,
                        args.connections,
                    )
                    sections["throughput_listings"] = THROUGHPUT_SEED_LISTINGS
                    sections["connections"] = args.connections
        if not args.no_growth:
            with step(sections, "growth"):
                budget = 5.0 if args.quick else 20.0
                sections["growth"] = growth.run(platform, probes, args.sizes, args.samples, budget)
    if args.store_benches:
        with step(sections, "store benchmarks (bench.listing_search, bench.credentials)"):
            sections["store"] = store_benches(servers.mongo_url, args)
    return sections


def throughput_probes(platform) -> dict:
    """Seeded listings, and a published listing with one application: what throughput and growth probe."""
    http_throughput.seed_listings(platform, THROUGHPUT_SEED_LISTINGS)
    http = requests.Session()
    employer = e2e_latency.published_employer(platform, http, 1, "throughput")
    applicant = token("student")
    application = e2e_latency.apply_when_known(platform, http, employer.listings[0], applicant)
    return {
        "listing_id": employer.listings[0],
        "word": "dashboard",
        "application_id": application["id"],
        "applicant": applicant,
    }


def issued_credential(platform, approvals: list) -> dict:
    """A credential the platform issued in this run, its signed document and its student's token."""
    probe = next(a for a in approvals if a.inbox_ms is not None)
    http = requests.Session()
    page = call(http, "GET", platform.url("certification", "/credentials?mine=1"), 200, probe.student)
    credential_uuid = page["items"][0]["id"].removeprefix("urn:uuid:")
    document = call(http, "GET", platform.url("certification", f"/credentials/{credential_uuid}"), 200)
    return {"credential_uuid": credential_uuid, "credential": document, "student": probe.student}


@contextlib.contextmanager
def step(sections: dict, name: str):
    """Say what is being measured and time it; a failure is kept for the report instead of ending the run."""
    print(f"bench: {name} ...", flush=True)
    started = time.monotonic()
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others' numbers
        traceback.print_exc()
        sections["errors"][name] = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        sections["timings"][name] = time.monotonic() - started
        print(f"bench: {name} took {sections['timings'][name]:.0f} s", flush=True)


def store_benches(mongo_url: str, args: argparse.Namespace) -> str:
    """The other benchmarks of this directory on the same FerretDB, their output captured."""
    from bench import credentials, listing_search

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        listing_search.run(mongo_url, args.sizes, budget=1.0 if args.quick else 3.0)
        with tempfile.TemporaryDirectory(prefix="stint-bench-keys-") as key_dir:
            count = 20 if args.quick else 200
            rows = credentials.raw_rates(count) + credentials.service_rates(mongo_url, key_dir, count)
            credentials.print_table(rows)
    # The service code they drive logs each credential it issues; the tables are what matter here.
    text = "".join(line for line in output.getvalue().splitlines(True) if not LOG_LINE.match(line))
    sys.stdout.write(text)
    return text


# ---- the report -----------------------------------------------------------------------------------


def render(args: argparse.Namespace, notes: str, sections: dict) -> dict:
    """The tables as terminal text and as Markdown."""
    tables = []
    if "latency" in sections:
        tables.append(latency_table(sections["latency"]))
    if "throughput" in sections:
        tables.append(throughput_table(sections))
    if sections.get("growth"):
        tables.append(growth_table(sections["growth"]))
    text = "\n\n".join(f"{title}\n{text_table(headers, rows)}" for title, headers, rows, _ in tables)
    quick = " (quick run)" if args.quick else ""
    timings = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in sections["timings"].items())
    heading = f"### {now_stamp()}{quick}\n\nMachine: {notes}. Whole run: {sections['elapsed']:.0f} s ({timings})."
    for name, error in sections["errors"].items():
        heading += f"\n\n**{name} failed:** `{error}`"
        text = f"{name} FAILED: {error}\n\n{text}"
    parts = [heading] + [
        f"#### {title}\n\n{markdown_table(headers, rows)}\n\n{note}" for title, headers, rows, note in tables
    ]
    if sections.get("store"):
        parts.append(
            f"#### bench.listing_search and bench.credentials, same run\n\n```\n{sections['store'].strip()}\n```"
        )
        text += "\n\n" + sections["store"]
    return {"text": text, "markdown": "\n\n".join(parts)}


def latency_table(latency: dict) -> tuple:
    """Approval → credential / inbox next to the broker's own latency."""
    kafka = latency["kafka"]
    rows = []
    for name, key in (
        ("Kafka produce → consume (acks=all, group consumer)", "kafka"),
        ("approval → credential stored and listed (GET /credentials?mine=1)", "credential"),
        ('approval → "credential issued" inbox entry stored', "inbox"),
    ):
        s = latency[key]
        rows.append(
            [
                name,
                str(s["n"]),
                fmt(s["p50"]),
                fmt(s["p95"]),
                fmt(s["p99"]),
                ratio(s["p50"], kafka["p50"]),
                ratio(s["p99"], kafka["p99"]),
            ]
        )
    publishing = (
        "each event is published by the process that stored it as soon as it is stored, the relay as the safety net"
        if latency.get("publish_on_write", True)
        else "publish on write off (STINT_PUBLISH_ON_WRITE=0): each event waits for an outbox relay polling every "
        "200 ms when idle"
    )
    note = (
        f"{latency['approvals']} approvals, one every {latency['interval']} s, nothing polling meanwhile. Both rows "
        "are the services' own stamps (same clock), read afterwards: the certification worker's note that it handled "
        "the approval, written right after the credential was stored and listed, and the inbox entry's created_at. "
        "Broker: one message every "
        f"{latency['kafka_interval'] * 1000:.0f} ms. Missing results: {latency['missing']}. The approvals started "
        f"once the platform was idle, {latency.get('quiet_after', 0):.0f} s after the preparation's last answer (its "
        "inbox entries and emails done). The path crosses the "
        f"broker twice; {publishing}. Goal (issue 13): p99 ≤ 20× the broker's p99."
    )
    headers = ["path", "n", "p50", "p95", "p99", "p50 / broker p50", "p99 / broker p99"]
    return "End-to-end latency (ms)", headers, rows, note


def outbox_floor_note(results: list) -> str:
    """What the apply row's second ratio is (when the run measured the outbox floor)."""
    if not any(result.name == http_throughput.OUTBOX_FLOOR for result in results):
        return ""
    return (
        " Apply's row also gives its ratio to the outbox floor measured just before it (one insert carrying one event "
        "through the services' outbox, published by the writer: what storing something and announcing it costs in "
        "this design)."
    )


def _to_outbox_floor(result, results: list) -> str:
    """Apply's ratio to the outbox floor, as a suffix of its row's ratio ("" for any other row)."""
    outbox = next((r for r in results if r.name == http_throughput.OUTBOX_FLOOR), None)
    if result.name != http_throughput.APPLY or outbox is None:
        return ""
    return f" ({ratio(result.requests_per_second, outbox.requests_per_second)} of the outbox floor)"


def throughput_table(sections: dict) -> tuple:
    """Requests per second and latency of each target next to the floors measured just before and after it."""
    results = sections["throughput"]
    rows = []
    for index, result in enumerate(results):
        floor_rps = http_throughput.floor_around(results, index)
        is_floor = result.name.startswith("floor")
        rows.append(
            [
                result.name,
                f"{result.answered:,}",
                fmt(result.requests_per_second),
                fmt(result.p50_ms),
                fmt(result.p95_ms),
                str(result.errors),
                "" if is_floor else ratio(result.requests_per_second, floor_rps) + _to_outbox_floor(result, results),
            ]
        )
    floors = [r.requests_per_second for r in results if r.name.startswith("floor")]
    first_error = next((f"{r.name}: {r.first_error}" for r in results if r.first_error), "")
    note = (
        f"wrk, {http_throughput.WRK_THREADS} threads, {sections['connections']} connections, "
        f"{results[0].seconds:.0f} s per target, loopback; the load generator shares the machine's cores with the "
        "servers. The floor is a Flask endpoint under the same gunicorn settings that inserts one document and reads "
        "one by `_id` on the same server, measured before and after each target on an emptied collection; a target's "
        "ratio is to the mean of those two floors (goal: each service target at least 0.50x). The floor ranged "
        f"{fmt(min(floors))}–{fmt(max(floors))} req/s in this run. "
        f"Search runs over {sections['throughput_listings']} seeded listings plus the run's own; applying is by a "
        "distinct student each time; /verify checks a credential the platform issued in this run, the same text each "
        "time (the service remembers its canonical form after the first); at first sight, a text of it with its "
        "keys in another order each time (checked against what the service kept when it signed it); and other such "
        "texts once the service has forgotten those bytes (each canonicalised in full, as a credential issued before "
        "they were kept). "
        "The load started "
        f"once the platform was idle ({sections.get('throughput_quiet_after', 0):.0f} s after the approvals' last "
        "inbox entry: the emails they set off were still being sent)."
        + outbox_floor_note(results)
        + (f" First error: `{first_error}`." if first_error else "")
    )
    headers = ["target", "requests", "req/s", "p50 ms", "p95 ms", "errors", "req/s vs floor around it"]
    return "HTTP throughput (gunicorn, same settings for all; load from wrk)", headers, rows, note


def growth_table(results: list[dict]) -> tuple:
    """p50 (p95) of each probe at each size, the growth factor, and the ratio to the by-id read."""
    sizes = [entry["size"] for entry in results]
    probes = list(results[0]["latency"])
    rows = []
    for probe in probes:
        cells = [growth_cell(e["latency"][probe]) for e in results]
        first, last = results[0]["latency"][probe]["p50"], results[-1]["latency"][probe]["p50"]
        base = baseline_of(probe)
        rows.append([probe, *cells, ratio(last, first), ratio(last, results[-1]["latency"][base]["p50"])])
    seeded = "; ".join(
        f"{e['size']:,}: {e['listings']:,} listings ({e['seed_seconds']['listings']:.0f} s), "
        f"{e['applications']:,} applications ({e['seed_seconds']['applications']:.0f} s), "
        f"{e['credentials']:,} credentials ({e['seed_seconds']['credentials']:.0f} s), search reloaded after "
        f"{e['search_reload_seconds']:.0f} s"
        for e in results
    )
    note = (
        "Sequential requests through the api, p50 (p95) in ms of the answered ones; `N× 503` counts requests answered "
        "503, which the services give when the database does not answer within the timeouts of shared/mongo.py. "
        "Seeded straight into the stores, in bulk: listings built by the "
        "listing domain; applications copied from one the platform stored (a new id, student and open place each); "
        "credentials copied from one the platform issued, under new ids (not re-signed). Apply is by a new student "
        "each time, to one listing; apply again is the probe's applicant applying a second time (refused). "
        "The search probes start once every api process's search model has reloaded after "
        "the bulk load (search finds the listing inserted last); how long that took is below. Held at each "
        f"size: {seeded}."
    )
    headers = ["probe", *[f"{size:,}" for size in sizes], f"{sizes[-1]:,} / {sizes[0]:,}", "vs by id"]
    return "Growth with data: p50 (p95) ms", headers, rows, note


def baseline_of(probe: str) -> str:
    """The by-id read a growth probe is compared with: of the same service's collection."""
    if probe.startswith(("listing", "search")):
        return "listing by id (baseline)"
    if probe.startswith(("apply", "application")):
        return "application by id (baseline)"
    return "credential by id (baseline)"


def growth_cell(measured: dict) -> str:
    """p50 (p95) of the answered requests, and how many failed with which status."""
    cell = f"{fmt(measured['p50'])} ({fmt(measured['p95'])})" if measured["n"] else "-"
    failed = ", ".join(f"{count}× {status}" for status, count in sorted(measured["failed"].items()))
    return f"{cell}; {failed}" if failed else cell


def write_doc(markdown: str) -> None:
    """Put the newest results at the top of the results section of docs/benchmarks.md, keeping earlier runs."""
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text:
        text = text.rstrip() + f"\n\n## Results\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    DOC.write_text(f"{head}{START}\n\n{markdown}\n\n{rest.lstrip(chr(10))}")


if __name__ == "__main__":
    main()
