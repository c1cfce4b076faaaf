"""A real Redis (Debian's redis-server) where the services count rate limits: for tests and local runs."""

from __future__ import annotations

import os
import shutil

from ._process import ManagedServer, ServerError, tcp_open

PACKAGE = "redis-server"  # Debian's; `make tools` installs it


def redis_binary() -> str | None:
    """The redis-server on PATH (or in /usr/bin, which a trimmed PATH may leave out), else None."""
    return shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")


class RedisServer(ManagedServer):
    """redis-server on a free local port, in memory only (no snapshots): counts are short-lived by nature."""

    name = "redis"

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None, *, parent_death_signal: bool = True):
        super().__init__(data_dir, parent_death_signal=parent_death_signal)
        self.port = port

    @property
    def url(self) -> str:
        """The storage URL the services take as STINT_RATE_LIMIT_STORAGE."""
        if self.port is None:
            raise ServerError("redis has no port yet: call start() first")
        return f"redis://127.0.0.1:{self.port}/0"

    def _prepare(self) -> list[str]:
        binary = redis_binary()
        if binary is None:
            raise ServerError(f"redis-server is not installed: apt-get install -y {PACKAGE} (or `make tools`)")
        if self.port is None:
            self.port = self._pick_port(self._load_state().get("port"))
        self._save_state(port=self.port)
        return [
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
        ]

    def _probe(self) -> bool:
        if not tcp_open(self.port):
            return False
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2).ping())
        except redis.RedisError:
            return False
