"""The independent verifier (tests/verifier: the Digital Credentials Consortium's libraries under node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

VERIFIER_DIR = Path(__file__).resolve().parents[1] / "verifier"
INSTALL_SECONDS = 300
VERIFY_SECONDS = 60


def install() -> str:
    """The node executable, after `npm ci` when node_modules is missing; skips the test, saying why, if it can't."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.skip("node is not installed: the independent verifier (tests/verifier) runs under node 20+")
    installed, locked = VERIFIER_DIR / "node_modules" / ".package-lock.json", VERIFIER_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < locked.stat().st_mtime:
        if npm is None:
            pytest.skip("npm is not installed: it installs the independent verifier's packages (npm ci)")
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=VERIFIER_DIR,
                capture_output=True,
                text=True,
                timeout=INSTALL_SECONDS,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm ci in {VERIFIER_DIR} took longer than {INSTALL_SECONDS} s (is the registry reachable?)")
        if done.returncode != 0:
            pytest.skip(f"npm ci in {VERIFIER_DIR} failed: {done.stderr.strip()[-500:]}")
    return node


def verify(node: str, credential: dict | list[dict], service_url: str):
    """The verifier's verdict on `credential` (a list of verdicts for a list of credentials, in one node run),
    fetching only from `service_url` (the running service)."""
    done = subprocess.run(
        [node, "verify.mjs", "--service", service_url],
        cwd=VERIFIER_DIR,
        input=json.dumps(credential),
        capture_output=True,
        text=True,
        timeout=VERIFY_SECONDS,
    )
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError(
            f"the verifier printed no verdict (exit {done.returncode}): {done.stderr[-2000:]}"
        ) from None
