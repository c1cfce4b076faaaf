"""CLI: python -m devservers {build,up,down,status,user,cluster} [--run-dir .run].

`up` prints STINT_KAFKA_BOOTSTRAP=... and STINT_MONGO_URL=... on stdout (everything else goes
to stderr), so `export $(python -m devservers up)` works in a shell. With the services (the default)
it also runs Keycloak on STINT_KEYCLOAK_URL's port and creates Stint's first admin account.
`cluster` runs a local 3-broker KRaft cluster in the foreground until Ctrl-C, printing the settings that point at it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import requests

from . import build
from .keycloak import KeycloakServer
from .keycloak_admin import ROLES, KeycloakAdmin, KeycloakAdminError, generated_password
from .platform_processes import SERVICE_PORTS, WORKER_PORTS, ensure_dotenv, platform_processes, set_dotenv
from .redis import RedisServer, redis_binary
from .servers import KIND, FerretServer, KafkaCluster, KafkaServer, ServerError

# Keycloak's master admin and Stint's first admin: for `up` and `user`, never handed to the services.
ADMIN_PASSWORDS = ("STINT_KEYCLOAK_ADMIN_PASSWORD", "STINT_ADMIN_PASSWORD")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _run_dir_lock(run_dir: Path) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".devservers.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _attach(run_dir: Path) -> tuple[KafkaServer, FerretServer]:
    """Return server objects for run_dir, bound to the pids/ports in servers.json if present."""
    try:
        info = json.loads((run_dir / "servers.json").read_text())
    except (OSError, ValueError):
        info = {}
    k, f = info.get("kafka", {}), info.get("ferretdb", {})
    kafka = KafkaServer(run_dir / "kafka", k.get("port"), k.get("controller_port"), parent_death_signal=False)
    ferret = FerretServer(run_dir / "ferretdb", f.get("port"), parent_death_signal=False)
    kafka.pid, ferret.pid = k.get("pid"), f.get("pid")
    kafka.start_time, ferret.start_time = k.get("start_time"), f.get("start_time")
    return kafka, ferret


def _healthy(server: KafkaServer | FerretServer) -> bool:
    return server.port is not None and server.is_running() and server._probe()


def _write_info(run_dir: Path, kafka: KafkaServer, ferret: FerretServer) -> None:
    info = {
        "kind": KIND,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "kafka": {
            "pid": kafka.pid,
            "start_time": kafka.start_time,
            "port": kafka.port,
            "controller_port": kafka.controller_port,
            "bootstrap": kafka.bootstrap,
            "data_dir": str(kafka.data_dir),
        },
        "ferretdb": {
            "pid": ferret.pid,
            "start_time": ferret.start_time,
            "port": ferret.port,
            "url": ferret.url,
            "data_dir": str(ferret.data_dir),
        },
    }
    (run_dir / "servers.json").write_text(json.dumps(info, indent=2) + "\n")


def _print_env(kafka: KafkaServer, ferret: FerretServer) -> None:
    print(f"STINT_KAFKA_BOOTSTRAP={kafka.bootstrap}")
    print(f"STINT_MONGO_URL={ferret.url}", flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    """Fetch/build the Kafka jars, the FerretDB binary and Keycloak into the cache."""
    started = time.monotonic()
    libs, binary, keycloak = build.build_all()
    _say(f"kafka {build.KAFKA_VERSION} jars: {libs}")
    _say(f"ferretdb {build.FERRETDB_VERSION} binary: {binary}")
    _say(f"keycloak {build.KEYCLOAK_VERSION}: {keycloak}")
    _say(f"ready in {time.monotonic() - started:.1f}s")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """Start both servers detached (idempotent) and print their env vars."""
    run_dir = Path(args.run_dir).resolve()
    with _run_dir_lock(run_dir):
        kafka, ferret = _attach(run_dir)
        if _healthy(kafka) and _healthy(ferret):
            if not args.quiet:
                _say(f"servers already running and healthy ({run_dir / 'servers.json'})")
                _print_env(kafka, ferret)
            return _up_platform(args, run_dir, kafka, ferret) if args.services else 0
        build.build_all()
        for server in (kafka, ferret):
            if server.is_running():
                _say(f"{server.name} running (pid {server.pid}) but not answering; waiting")
                try:
                    server.wait_ready(args.timeout)
                    continue
                except ServerError:
                    _say(f"{server.name} still not ready; restarting it")
                    server.stop()
            # Fresh start: re-pick ports (the stored ones if still free, else new ones).
            server.pid = server.start_time = server.port = None
            if isinstance(server, KafkaServer):
                server.controller_port = None
            server.start(wait=False)
            if not args.quiet:
                _say(f"{server.name} started (pid {server.pid}), logs in {server.data_dir}")
        try:
            ferret.wait_ready(args.timeout)
            kafka.wait_ready(args.timeout)
        except ServerError as exc:
            _say(str(exc))
            return 1
        _write_info(run_dir, kafka, ferret)
        if not args.quiet:
            _say(f"up: {KIND}; state in {run_dir / 'servers.json'}")
            _print_env(kafka, ferret)
        return _up_platform(args, run_dir, kafka, ferret) if args.services else 0


def _platform(run_dir: Path, kafka: KafkaServer, ferret: FerretServer):
    """The service processes, attached to whatever a previous `up` left running."""
    env = ensure_dotenv()
    env.update(STINT_KAFKA_BOOTSTRAP=kafka.bootstrap, STINT_MONGO_URL=ferret.url)
    processes = platform_processes(run_dir, {k: v for k, v in env.items() if k not in ADMIN_PASSWORDS})
    for process in processes:
        state = process._load_state()
        process.pid, process.start_time = state.get("pid"), state.get("start_time")
    return env, processes


def _keycloak(run_dir: Path, env: dict[str, str]) -> KeycloakServer:
    """Keycloak for `make up` on STINT_KEYCLOAK_URL's port, attached to whatever a previous `up` left running."""
    url = env.get("STINT_KEYCLOAK_URL")
    server = KeycloakServer(
        run_dir / "keycloak",
        urlsplit(url).port if url else None,
        admin_password=env.get("STINT_KEYCLOAK_ADMIN_PASSWORD", ""),
        realm_settings=env,
        parent_death_signal=False,
    )
    state = server._load_state()
    server.pid, server.start_time = state.get("pid"), state.get("start_time")
    server.port = server.port or state.get("port")
    return server


def _redis(run_dir: Path) -> RedisServer:
    """`make up`'s Redis, where the services count rate limits, attached to whatever a previous `up` left running."""
    server = RedisServer(run_dir / "redis", parent_death_signal=False)
    state = server._load_state()
    server.pid, server.start_time, server.port = state.get("pid"), state.get("start_time"), state.get("port")
    return server


def _start_redis(run_dir: Path, timeout: float) -> None:
    """Start the rate-limit Redis unless running and tell the services where it is; without Debian's redis-server
    each service process counts in its own memory (and logs so)."""
    redis = _redis(run_dir)
    if not redis.is_running():
        if redis_binary() is None:
            _say("redis-server is not installed (`make tools`): each process counts rate limits in its own memory")
            return
        redis.pid = redis.start_time = None
        redis.start(timeout=timeout)
    set_dotenv({"STINT_RATE_LIMIT_STORAGE": redis.url})


def _ensure_stint_admin(keycloak: KeycloakServer, env: dict[str, str]) -> str | None:
    """Create Stint's first admin (role admin, email verified) unless it exists; return what to print, once."""
    admin = KeycloakAdmin(keycloak.url, env["STINT_KEYCLOAK_ADMIN_PASSWORD"])
    email, password = env["STINT_ADMIN_EMAIL"], env["STINT_ADMIN_PASSWORD"]
    if admin.find_user(email) is not None:
        return None
    admin.create_user(email, password, name="Stint Admin", role="admin")
    return f"  Stint admin    {email}  password {password}  (shown this once; it stays in .env)"


def _up_platform(args: argparse.Namespace, run_dir: Path, kafka: KafkaServer, ferret: FerretServer) -> int:
    """Start Keycloak, the mail catcher and each service's processes unless already running; print the URLs."""
    ensure_dotenv()
    set_dotenv({"STINT_KAFKA_BOOTSTRAP": kafka.bootstrap, "STINT_MONGO_URL": ferret.url})
    _start_redis(run_dir, args.timeout)
    env, processes = _platform(run_dir, kafka, ferret)
    keycloak = _keycloak(run_dir, env)
    if not keycloak.is_running():  # a Keycloak still starting is waited for below, not started twice
        build.keycloak_home()
        keycloak.pid = keycloak.start_time = keycloak.management_port = None
        keycloak.start(wait=False)
    for process in processes:
        if process.is_running() and process._probe():
            continue
        metrics_dir = process.env.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:
            for stale in Path(metrics_dir).glob("*.db"):
                stale.unlink()
        process.pid = process.start_time = None
        process.start(wait=False)
    for process in [*processes, keycloak]:
        try:
            process.wait_ready(args.timeout)
        except ServerError as exc:
            _say(f"{process.name} did not start:\n{exc}")
            return 1
    try:
        first_admin = _ensure_stint_admin(keycloak, env)
    except KeycloakAdminError as exc:
        _say(f"keycloak refused to create Stint's admin ({exc}); if .env changed since its data was made, stop, ")
        _say(f"delete {keycloak.data_dir} and run `make up` again")
        return 1
    _say(f"Stint is up. Logs in {run_dir / 'logs'}; settings in .env; `make down` stops everything.")
    if any(p.name == "web-api" for p in processes):
        _say(f"  web            {env['STINT_WEB_URL']}")
    _say(f"  keycloak       {keycloak.account_console_url}  (admin console {keycloak.url}/admin/)")
    for name, port in SERVICE_PORTS.items():
        if any(p.name == f"{name}-api" for p in processes):
            _say(f"  {name:<14} http://127.0.0.1:{port}/docs")
    _say(f"  verification   {env.get('STINT_PUBLIC_URL', '')}/verify/<credential-uuid>")
    probes = [f"{name} :{port}" for name, port in WORKER_PORTS.items() if any(p.port == port for p in processes)]
    if probes:
        _say(f"  workers        /healthz /readyz /metrics on {', '.join(probes)}")
    if first_admin:
        _say(first_admin)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the servers that servers.json lists."""
    run_dir = Path(args.run_dir).resolve()
    with _run_dir_lock(run_dir):
        kafka, ferret = _attach(run_dir)
        env, processes = _platform(run_dir, kafka, ferret)
        for process in reversed(processes):
            if process.pid is not None and process.is_running():
                process.stop()
                _say(f"{process.name} stopped")
        keycloak = _keycloak(run_dir, env)
        if keycloak.pid is not None and keycloak.is_running():
            keycloak.stop()
            _say(f"keycloak stopped (pid {keycloak.pid})")
        redis = _redis(run_dir)
        if redis.pid is not None and redis.is_running():
            redis.stop()
            _say(f"redis stopped (pid {redis.pid})")
        for server in (kafka, ferret):
            if server.pid is not None and server.is_running():
                server.stop()
                _say(f"{server.name} stopped (pid {server.pid})")
            else:
                _say(f"{server.name} not running")
        (run_dir / "servers.json").unlink(missing_ok=True)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print whether each server is running and answering; exit 1 unless all that `up` started are."""
    run_dir = Path(args.run_dir).resolve()
    kafka, ferret = _attach(run_dir)
    ok = True
    for server, addr in ((kafka, "bootstrap"), (ferret, "url")):
        if server.pid is None or not server.is_running():
            print(f"{server.name}: not running")
            ok = False
            continue
        healthy = server._probe()
        ok = ok and healthy
        print(
            f"{server.name}: pid {server.pid}, {addr} {getattr(server, addr)}, "
            f"{'healthy' if healthy else 'NOT answering'}"
        )
    keycloak = _keycloak(run_dir, {})
    if keycloak.pid is None:  # never started here (`up --servers-only`)
        print("keycloak: not started")
    elif not keycloak.is_running():
        print("keycloak: not running")
        ok = False
    else:
        healthy = keycloak._probe()
        ok = ok and healthy
        print(f"keycloak: pid {keycloak.pid}, url {keycloak.url}, {'healthy' if healthy else 'NOT answering'}")
    return 0 if ok else 1


def cmd_user(args: argparse.Namespace) -> int:
    """Create a verified account in the stint realm of the Keycloak `make up` runs; print a generated password."""
    env = ensure_dotenv()
    admin = KeycloakAdmin(env["STINT_KEYCLOAK_URL"], env["STINT_KEYCLOAK_ADMIN_PASSWORD"])
    password = args.password or generated_password()
    try:
        admin.create_user(args.email, password, name=args.name, role=args.role or None, org=args.org or None)
    except requests.ConnectionError:
        _say(f"no Keycloak answers at {env['STINT_KEYCLOAK_URL']}: run `make up` first")
        return 1
    except KeycloakAdminError as exc:
        _say(f"error: {exc}")
        return 1
    what = ", ".join(
        filter(None, [f"role {args.role}" if args.role else "no role yet", args.org and f"org {args.org}"])
    )
    print(f"created {args.email} ({what}), email verified; sign in at {env.get('STINT_WEB_URL', '')}")
    if not args.password:
        print(f"password: {password}")
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    """Run a local Kafka cluster (3 KRaft nodes, each broker and controller) until Ctrl-C or SIGTERM."""
    cluster = KafkaCluster(Path(args.run_dir) / "cluster", size=args.brokers)
    try:
        cluster.start(args.timeout)
    except ServerError as exc:
        _say(f"error: {exc}")
        return 1
    print(f"STINT_KAFKA_BOOTSTRAP={cluster.bootstrap}")
    for name, value in cluster.topic_settings().items():
        print(f"{name}={value}")
    sys.stdout.flush()
    _say(f"{args.brokers} brokers running under {Path(args.run_dir) / 'cluster'}; Ctrl-C stops them")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    parser = argparse.ArgumentParser(prog="python -m devservers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help=cmd_build.__doc__).set_defaults(func=cmd_build)
    user = sub.add_parser("user", help=cmd_user.__doc__)
    user.add_argument("--email", required=True)
    user.add_argument("--role", choices=("", *ROLES), default="", help="none: the person picks student or employer")
    user.add_argument("--password", default="", help="default: a random one, printed")
    user.add_argument("--org", default="", help="organisation id (employers, universities)")
    user.add_argument("--name", default="", help='"First Last" (default: from the email)')
    user.set_defaults(func=cmd_user)
    cluster = sub.add_parser("cluster", help=cmd_cluster.__doc__)
    cluster.add_argument("--run-dir", default=".run", help="the nodes' data and logs go under RUN_DIR/cluster")
    cluster.add_argument("--brokers", type=int, default=3)
    cluster.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for every node")
    cluster.set_defaults(func=cmd_cluster)
    for name, func in (("up", cmd_up), ("down", cmd_down), ("status", cmd_status)):
        p = sub.add_parser(name, help=func.__doc__)
        p.add_argument("--run-dir", default=".run", help="where data, logs and servers.json live")
        p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for readiness")
        p.add_argument("--quiet", action="store_true", help="print only what a person needs (the URLs, errors)")
        p.add_argument(
            "--servers-only",
            dest="services",
            action="store_false",
            help="start Kafka and FerretDB but not the Stint services",
        )
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (build.BuildError, ServerError) as exc:
        _say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
