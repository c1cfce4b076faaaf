"""Database round trips and CPU per approval, by process: what the approval pipeline costs, counted.

    python -m bench.round_trips [--approvals 300] [--interval 0.05]
    python -m bench.round_trips --applies 15     # distinct students apply under wrk for 15 s instead
    python -m bench.round_trips --ferretdb-profile /tmp/ferretdb.prof --python-profile /tmp/profiles

Starts the provisioned servers and the platform as `python -m bench` does, with one addition: every platform process
loads a pymongo command listener (a `sitecustomize` module this command writes to a temporary directory put on the
processes' PYTHONPATH), which counts the process's commands by name and collection and writes the counts to a file
twice a second. The approvals are then made as in the latency benchmark (bench/e2e_latency.py: applications
accepted and submitted first, then one approval every `interval` seconds), and the counts and each process's CPU from
the first approval until the platform is quiet again (every email and inbox entry the approvals set off included)
are printed per approval, less what the idle platform does in as long (its polls, measured for 10 s first). The
certification and notification apis answer only the bench's own reads of the results in that window; they are shown
apart.

With `--applies SECONDS` the load is the throughput benchmark's apply instead (bench/http_throughput.py: wrk, 8
connections, a different student each request, for SECONDS), and everything is per apply: what an apply costs the
whole platform on the machine it shares (the employer's inbox entry and email included), where the throughput floor
is one process alone.

A command FerretDB answers by reading every document of its collection (any filter but exactly `{_id: <string or
ObjectId>}`) is counted apart, marked `(scan)`. `--ferretdb-profile FILE` writes FerretDB's Go CPU profile of the
measured load (`go tool pprof -top FILE`); `--python-profile DIR` writes each platform process's CPU profile of it
(yappi, CPU clock, every thread: pstats files, each with the process's command line beside). yappi slows call-heavy
code several times over: read its profiles for shares, and the CPU column of such a run for nothing.

A count is exact where timings are noisy: at 20 approvals a second the pipeline's latency swings by tens of percent
between runs of the same code, a round trip fewer per approval does not.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import e2e_latency, http_throughput
from bench.support import cpu_seconds, real_servers, running_platform, wait_until_quiet
from devservers import free_port
from tests.support.smtp import smtp_server

IDLE_SECONDS = 10.0

# Loaded by every Python process started with the directory on its PYTHONPATH; counts only in the platform's own
# processes (their command line names a service module).
SITECUSTOMIZE = """
import collections, json, os, sys, threading, time
_dir = os.environ.get("STINT_ROUND_TRIPS_DIR")
_platform = "services." in " ".join(sys.orig_argv)  # sys.argv is not set yet when this runs
if _dir and _platform:
    from pymongo import monitoring
    _counts, _guard = collections.Counter(), threading.Lock()

    def _filter_of(name, command):
        if name in ("find", "count"):
            return command.get("filter", command.get("query")) or {}
        if name == "findAndModify":
            return command.get("query") or {}
        if name in ("update", "delete"):
            statements = command.get("updates" if name == "update" else "deletes") or [{}]
            return statements[0].get("q") or {}
        return None  # inserts, getMore and the rest name no filter

    def _by_id(query):
        if query is None:
            return True
        value = query.get("_id") if len(query) == 1 else None
        return isinstance(value, str) or type(value).__name__ == "ObjectId"  # what FerretDB pushes down to SQLite

    class _Counter(monitoring.CommandListener):
        def started(self, event):
            name = event.command_name
            target = event.command.get("collection" if name == "getMore" else name)
            key = f"{name} {target}" if isinstance(target, str) else name
            if not _by_id(_filter_of(name, event.command)):
                key += " (scan)"  # FerretDB reads every document of the collection for it (only `{_id: v}` is not)
            with _guard:
                _counts[key] += 1

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    monitoring.register(_Counter())

    def _write():
        while True:
            time.sleep(0.5)
            with _guard:
                counts = dict(_counts)
            path = os.path.join(_dir, f"{os.getpid()}.json")
            with open(path + ".tmp", "w") as out:
                json.dump({"argv": " ".join(sys.orig_argv), "counts": counts}, out)
            os.replace(path + ".tmp", path)

    def _start():
        with _guard:
            _counts.clear()
        threading.Thread(target=_write, daemon=True).start()

    _start()
    os.register_at_fork(after_in_child=_start)

_profiles = os.environ.get("STINT_PYTHON_PROFILE_DIR")
if _profiles and _platform:
    import yappi  # a CPU-clock profile of every thread, from the file `start` until the file `stop` appears

    def _profile():
        while not os.path.exists(os.path.join(_profiles, "start")):
            time.sleep(0.2)
        yappi.set_clock_type("cpu")
        yappi.start()
        while not os.path.exists(os.path.join(_profiles, "stop")):
            time.sleep(0.2)
        yappi.stop()
        yappi.get_func_stats().save(os.path.join(_profiles, f"{os.getpid()}.pstat"), type="pstat")
        with open(os.path.join(_profiles, f"{os.getpid()}.argv"), "w") as out:
            out.write(" ".join(sys.orig_argv))

    def _start_profile():
        threading.Thread(target=_profile, daemon=True).start()

    _start_profile()
    os.register_at_fork(after_in_child=_start_profile)
"""


def snapshot(directory: Path) -> dict[str, dict]:
    """Every process's counts as last written (after waiting for one more write)."""
    time.sleep(0.6)
    found = {}
    for path in directory.glob("*.json"):
        try:
            found[path.name] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return found


def process_name(argv: str) -> str:
    """`application api`, `certification worker`, ... from a platform process's command line."""
    match = re.search(r"services[./](\w+)[./](wsgi|worker)", argv)
    if not match:
        return argv[:60]
    return f"{match.group(1)} {'api' if match.group(2) == 'wsgi' else 'worker'}"


def counted(before: dict, after: dict) -> dict[str, collections.Counter]:
    """Commands made between two snapshots, by process name (gunicorn's workers summed under their api)."""
    by_process: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, now in after.items():
        earlier = before.get(name, {"counts": {}})["counts"]
        for key, value in now["counts"].items():
            if value - earlier.get(key, 0):
                by_process[process_name(now["argv"])][key] += value - earlier.get(key, 0)
    return by_process


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.round_trips", description=__doc__.split("\n")[0])
    parser.add_argument("--approvals", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between approvals (0.05: 20 a second)")
    parser.add_argument("--applies", type=float, metavar="SECONDS", help="apply under wrk for SECONDS instead")
    parser.add_argument(
        "--ferretdb-profile",
        type=Path,
        metavar="FILE",
        help="write FerretDB's Go CPU profile of the measured load to FILE (read it with `go tool pprof -top FILE`)",
    )
    parser.add_argument(
        "--python-profile",
        type=Path,
        metavar="DIR",
        help="write each platform process's CPU profile of the measured load (yappi, pstats files) into DIR",
    )
    args = parser.parse_args()
    if args.python_profile:
        args.python_profile.mkdir(parents=True, exist_ok=True)
        for marker in ("start", "stop"):  # a run before this one into the same directory left them
            (args.python_profile / marker).unlink(missing_ok=True)
        os.environ["STINT_PYTHON_PROFILE_DIR"] = str(args.python_profile.resolve())
    if args.ferretdb_profile:
        os.environ["STINT_FERRETDB_PPROF"] = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="stint-round-trips-") as tmp:
        run_dir, counts_dir, module_dir = Path(tmp) / "run", Path(tmp) / "counts", Path(tmp) / "site"
        for directory in (run_dir, counts_dir, module_dir):
            directory.mkdir()
        (module_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
        os.environ["STINT_ROUND_TRIPS_DIR"] = str(counts_dir)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(module_dir), os.environ.get("PYTHONPATH")]))
        with real_servers(run_dir) as servers, smtp_server() as mail, running_platform(servers, run_dir, mail.url) as p:
            if args.applies:
                load = _applying(p, args.applies, Path(tmp) / "students")
            else:
                employer, approvals = e2e_latency.prepare(p, args.approvals)
            wait_until_quiet(p)
            roots = {name: [process.pid] for name, process in p.processes.items() if process.pid}
            roots |= server_pids(run_dir)
            # The platform's idle work (relay and consumer polls, periodic jobs), measured first and taken out below.
            idle_before, idle_cpu_before, idle_started = snapshot(counts_dir), _cpu_seconds_of(roots), time.monotonic()
            time.sleep(IDLE_SECONDS)
            before, cpu_before, started = snapshot(counts_dir), _cpu_seconds_of(roots), time.monotonic()
            idle = Idle(counted(idle_before, before), idle_cpu_before, cpu_before, started - idle_started)
            profiling = _profiling(args.ferretdb_profile, args.applies or args.approvals * args.interval)
            if args.python_profile:
                (args.python_profile / "start").touch()
            if args.applies:
                applied = load()
                n, unit = applied.answered, "apply"
                what = f"{n} applies under wrk in {applied.seconds:.0f} s ({applied.errors} errors)"
            else:
                e2e_latency.approve_at_steady_rate(p, employer, approvals, args.interval)
                n, unit, what = args.approvals, "approval", f"{args.approvals} approvals, one every {args.interval} s"
            if profiling:
                profiling.join()
            wait_until_quiet(p)
            after, cpu_after, took = snapshot(counts_dir), _cpu_seconds_of(roots), time.monotonic() - started
            if args.python_profile:
                (args.python_profile / "stop").touch()
                time.sleep(3)  # each process saves its profile
                print(
                    f"Python CPU profiles of the load (pstats, a process each, its command line beside): "
                    f"{args.python_profile}"
                )
    report(counted(before, after), cpu_before, cpu_after, idle, n, unit, what, took)


def _profiling(path: Path | None, seconds: float) -> threading.Thread | None:
    """Fetch FerretDB's CPU profile of the next `seconds` (its pprof server: STINT_FERRETDB_PPROF) into `path`."""
    if path is None:
        return None
    url = f"http://{os.environ['STINT_FERRETDB_PPROF']}/debug/pprof/profile?seconds={max(1, round(seconds))}"

    def fetch() -> None:
        path.write_bytes(requests.get(url, timeout=seconds + 60).content)
        print(f"FerretDB CPU profile of the load: {path}")

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    return thread


def _applying(platform, seconds: float, tokens_path: Path):
    """A published listing and enough students' tokens; the load to run, applying to it under wrk."""
    http = requests.Session()
    listing_id = e2e_latency.published_employer(platform, http, 1, "applies").listings[0]
    connections = 8
    tokens = http_throughput.student_tokens(
        tokens_path, int(http_throughput.TOKENS_PER_CONNECTION_SECOND * connections * seconds)
    )
    script = http_throughput.applying(listing_id, tokens, 201)
    url = platform.url("application", "/applications")
    return lambda: http_throughput.load(http_throughput.APPLY, url, script, seconds, connections)


def server_pids(run_dir: Path) -> dict[str, list[int]]:
    """The provisioned Kafka and FerretDB of this run (their command lines name its directory), by name."""
    found: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode() if entry.isdigit() else ""
        except OSError:
            continue
        if str(run_dir) in argv and "kafka.Kafka" in argv:
            found.setdefault("kafka", []).append(int(entry))
        elif str(run_dir) in argv and "ferretdb" in argv.split(" ")[0]:
            found.setdefault("ferretdb", []).append(int(entry))
    return found


def _cpu_seconds_of(roots: dict[str, list[int]]) -> dict[str, float]:
    return {name: cpu_seconds(pids) for name, pids in roots.items()}


@dataclass
class Idle:
    """What the platform did while idle for `seconds`: commands by process, CPU seconds by process before and after."""

    commands: dict[str, collections.Counter]
    cpu_before: dict[str, float]
    cpu_after: dict[str, float]
    seconds: float

    def commands_in(self, process: str, key: str, seconds: float) -> float:
        return self.commands.get(process, {}).get(key, 0) * seconds / self.seconds

    def cpu_in(self, process: str, seconds: float) -> float:
        return (self.cpu_after[process] - self.cpu_before[process]) * seconds / self.seconds


def report(
    by_process: dict, cpu_before: dict, cpu_after: dict, idle: Idle, n: int, unit: str, what: str, took: float
) -> None:
    print(
        f"{what}; {took:.0f} s from the first until the platform was quiet again. "
        f"Per {unit}, less what the idle platform did in as long ({idle.seconds:.0f} s of it measured first):"
    )
    readers = {"certification api", "notification api"}
    total = 0.0
    rows = {}
    for name, counts in by_process.items():
        made = {key: max(0.0, value - idle.commands_in(name, key, took)) / n for key, value in counts.items()}
        rows[name] = {key: per for key, per in made.items() if per >= 0.005}
    for name, made in sorted(rows.items(), key=lambda item: -sum(item[1].values())):
        per = sum(made.values())
        total += 0 if name in readers else per
        label = " (the bench's own reads of the results)" if name in readers else ""
        print(f"  {name}: {per:.1f} database commands{label}")
        for key, value in sorted(made.items(), key=lambda item: -item[1]):
            print(f"      {value:6.2f}  {key}")
    print(f"  all but the bench's reads: {total:.1f} database commands an {unit}")
    print(f"CPU per {unit} (ms), by process, less its idle CPU:")
    spent = {
        name: 1000 * max(0.0, cpu_after[name] - cpu_before[name] - idle.cpu_in(name, took)) / n for name in cpu_after
    }
    for name in sorted(spent, key=spent.get, reverse=True):
        print(f"  {name:24s} {spent[name]:6.1f}")
    print(f"  {'all':24s} {sum(spent.values()):6.1f}")


if __name__ == "__main__":
    main()
