"""Process plumbing shared by the dev servers: ports, process groups, readiness polling."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


class ServerError(RuntimeError):
    """A dev server failed to start, died, or did not become ready in time."""


# Ports handed to servers are drawn from this many below the kernel's ephemeral range.
PORTS_BELOW_EPHEMERAL = 12000


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now, from below the kernel's ephemeral range.

    A port the kernel picks (bind to port 0) comes from the ephemeral range, which is also where every outgoing
    connection's local port comes from: between the pick and the server's own bind, a client connecting to Kafka or
    the database could take it ("Address already in use", seen when a worker bound its health port). Below the
    range only another explicit bind can take it.
    """
    low = _ephemeral_range_start()
    draw = random.SystemRandom()
    for _ in range(200):
        port = draw.randrange(max(1024, low - PORTS_BELOW_EPHEMERAL), low)
        if port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def port_is_free(port: int) -> bool:
    """Return True if 127.0.0.1:port can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def tcp_open(port: int, timeout: float = 0.5) -> bool:
    """Return True if something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    """Return the last lines of a text file, or '' if it does not exist."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _set_parent_death_signal() -> None:
    # Runs in the child between fork and exec: SIGTERM it if the parent dies (PR_SET_PDEATHSIG).
    with contextlib.suppress(Exception):  # best effort, Linux only
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))


def _stat_fields(path: str) -> list[bytes]:
    with open(path, "rb") as fh:
        return fh.read().rsplit(b")", 1)[1].split()  # [0] is field 3 (state)


def proc_start_time(pid: int) -> int | None:
    """Return the kernel start time (clock ticks since boot) of pid, or None if gone."""
    try:
        return int(_stat_fields(f"/proc/{pid}/stat")[19])
    except (OSError, IndexError, ValueError):
        return None


def pid_alive(pid: int, start_time: int | None = None) -> bool:
    """Return True if pid is a live process (any non-zombie thread) started at start_time."""
    if start_time is not None and proc_start_time(pid) != start_time:
        return False  # gone, or the pid was reused by another process
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    # A JVM's main thread may already be a zombie while its other threads run the shutdown
    # hooks, so look at every thread, not just the leader.
    for tid in tasks:
        try:
            if _stat_fields(f"/proc/{pid}/task/{tid}/stat")[0] not in (b"Z", b"X"):
                return True
        except (OSError, IndexError):
            continue
    return False


class ManagedServer:
    """Base class: one server process in its own process group, logging into its data dir."""

    name = "server"
    state_file = "devserver.json"

    def __init__(self, data_dir: str | os.PathLike[str], *, parent_death_signal: bool = True) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.parent_death_signal = parent_death_signal
        self.pid: int | None = None
        self.start_time: int | None = None  # identifies self.pid against pid reuse
        self._proc: subprocess.Popen[bytes] | None = None

    # -- subclass hooks -------------------------------------------------------------------
    def _prepare(self) -> list[str]:
        """Allocate ports, write config, return the command line (subclass hook)."""
        raise NotImplementedError

    def _probe(self) -> bool:
        """Return True once the server answers real client requests (subclass hook)."""
        raise NotImplementedError

    def _cwd(self) -> Path:
        """Return the child's working directory (subclass hook; default: the data dir)."""
        return self.data_dir

    def _env(self) -> dict[str, str] | None:
        """Return the child's environment (subclass hook; default None: inherit ours)."""
        return None

    def _log_files(self) -> list[Path]:
        return [self.data_dir / "stderr.log", self.data_dir / "stdout.log"]

    # -- state ----------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        try:
            return json.loads((self.data_dir / self.state_file).read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, **values: Any) -> None:
        state = self._load_state()
        state.update(values)
        (self.data_dir / self.state_file).write_text(json.dumps(state, indent=2) + "\n")

    def _pick_port(self, stored: int | None, exclude: tuple[int, ...] = ()) -> int:
        if stored and stored not in exclude and port_is_free(stored):
            return stored
        while True:
            port = free_port()
            if port not in exclude:
                return port

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, wait: bool = True, timeout: float = 120.0) -> ManagedServer:
        """Start the server process (own process group); wait until ready unless wait=False."""
        if self.is_running():
            raise ServerError(f"{self.name} already running (pid {self.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = self._prepare()
        use_pdeathsig = self.parent_death_signal and threading.current_thread() is threading.main_thread()
        with open(self.data_dir / "stdout.log", "ab") as out, open(self.data_dir / "stderr.log", "ab") as err:
            stamp = f"\n--- devservers start {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode()
            out.write(stamp)
            err.write(stamp)
            out.flush()
            err.flush()
            self._proc = subprocess.Popen(
                cmd,
                cwd=self._cwd(),
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=_set_parent_death_signal if use_pdeathsig else None,
            )
        self.pid = self._proc.pid
        self.start_time = proc_start_time(self.pid)
        self._save_state(pid=self.pid, start_time=self.start_time)
        if wait:
            try:
                self.wait_ready(timeout)
            except BaseException:
                self.kill()
                raise
        return self

    def is_running(self) -> bool:
        """Return True if the server process is alive."""
        if self._proc is not None:
            return self._proc.poll() is None
        return self.pid is not None and pid_alive(self.pid, self.start_time)

    def _signal_group(self, sig: int) -> None:
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def _wait_exit(self, timeout: float) -> bool:
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while self.is_running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """Stop gracefully (SIGTERM to the group, wait), escalating to SIGKILL after timeout."""
        if self.pid is None:
            return
        if self.is_running():
            self._signal_group(signal.SIGTERM)
            if not self._wait_exit(timeout):
                self._signal_group(signal.SIGKILL)
                self._wait_exit(10)
        self._signal_group(signal.SIGKILL)  # sweep any leftover group members

    def kill(self) -> None:
        """Kill the process group with SIGKILL (for failure drills) and reap it."""
        if self.pid is None:
            return
        self._signal_group(signal.SIGKILL)
        self._wait_exit(10)

    def restart(self, wait: bool = True, timeout: float = 120.0) -> ManagedServer:
        """Stop if running, then start again on the same ports and data dir."""
        if self.is_running():
            self.stop()
        return self.start(wait=wait, timeout=timeout)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Poll until the server answers; raise ServerError with the log tail on death/timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.is_running():
                code = self._proc.poll() if self._proc is not None else None
                raise ServerError(f"{self.name} exited (code {code}) before becoming ready\n{self.log_tail()}")
            if self._probe():
                return
            if time.monotonic() > deadline:
                raise ServerError(f"{self.name} not ready after {timeout:.0f}s\n{self.log_tail()}")
            time.sleep(0.25)

    def log_tail(self, lines: int = 30) -> str:
        """Return the tails of the server's log files, labelled, for error messages."""
        parts = []
        for path in self._log_files():
            text = tail(path, lines).strip()
            if text:
                parts.append(f"--- {path} (tail) ---\n{text}")
        return "\n".join(parts) or f"(no log output in {self.data_dir})"

    def __enter__(self) -> ManagedServer:
        if not self.is_running():
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
