"""Credential issuing and verifying rates, next to the raw canonicalise + Ed25519 cost measured in the same run.

    python -m bench.credentials                 # starts its own FerretDB unless STINT_MONGO_URL is set
    python -m bench.credentials --count 300     # credentials per measurement (default 200)

"raw sign" is what a proof costs by itself: RDF-canonicalise the credential and its proof configuration,
SHA-256 both, Ed25519-sign. "raw verify" is the same with an Ed25519 verification. The service rows go
through the same use cases the worker and the API call (database writes and reads included), so the
ratio column shows what the service adds on top of the cryptography. Drops its database at the end.

Canonical forms are remembered by each document's text (`services/certification/jsonld.py`): every row works from
an empty memory, as the first sight of each credential does, except "raw verify (again)", a credential verified
over and over as its page or a university checking it again does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also runnable as `python bench/credentials.py`

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from services.certification import credential as c  # noqa: E402
from services.certification import dataintegrity as di  # noqa: E402
from services.certification import issuing, store, verifying  # noqa: E402
from services.certification.jsonld import DEFAULT_LOADER  # noqa: E402
from services.certification.runtime import Runtime  # noqa: E402
from shared.config import load_settings  # noqa: E402
from shared.events import new_event, read_event  # noqa: E402
from shared.mongo import connect  # noqa: E402
from tests.unit.certification.samples import work_approved_data  # noqa: E402

PUBLIC_URL = "https://verify.stint.example"
BATCH = 100


def _timed(label: str, count: int, action) -> tuple[str, int, float]:
    started = time.perf_counter()
    action()
    return label, count, time.perf_counter() - started


def raw_rates(count: int) -> list[tuple[str, int, float]]:
    """Canonicalise + hash + Ed25519 sign/verify, without the service around it."""
    key = Ed25519PrivateKey.generate()
    unsigned = c.build_credential(
        work_approved_data(),
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issuer_did=c.did_web(PUBLIC_URL),
        public_url=PUBLIC_URL,
        issued_at=datetime.now(UTC),
        status=c.StatusEntry(f"{PUBLIC_URL}/status-lists/bench", 7),
    )
    options = di.proof_options(f"{c.did_web(PUBLIC_URL)}#key-1", c.utc_timestamp(datetime.now(UTC)))
    signed = di.add_proof(unsigned, options, key)
    public_key = key.public_key()
    return [
        _timed("raw sign", count, lambda: [_first_sight(di.add_proof, unsigned, options, key) for _ in range(count)]),
        _timed("raw verify", count, lambda: [_first_sight(di.verify_proof, signed, public_key) for _ in range(count)]),
        _timed("raw verify (again)", count, lambda: [di.verify_proof(signed, public_key) for _ in range(count)]),
    ]


def _first_sight(action, *args):
    """`action(*args)` with no canonical form remembered, as for a document seen the first time."""
    DEFAULT_LOADER.canonical_forms.clear()
    return action(*args)


def service_rates(mongo_url: str, key_dir: str, count: int) -> list[tuple[str, int, float]]:
    """Issue through the worker's use case, then verify one by one and in batches."""
    settings = load_settings(
        "certification",
        environ={},
        mongo_url=mongo_url,
        mongo_db=f"bench_certification_{uuid.uuid4().hex[:8]}",
        auth_secret="bench-" + "x" * 32,
        public_url=PUBLIC_URL,
        signing_key_dir=key_dir,
        env="test",
    )
    db = connect(settings)
    store.ensure_indexes(db)
    runtime = Runtime.create(settings, db)
    runtime.keyring.current()
    try:
        events = [new_event("stint.work.approved.v1", "application", d["application_id"], d) for d in _work(count)]
        rows = [
            _timed("service issue", count, lambda: [issuing.issue_credential(runtime, read_event(e)) for e in events])
        ]
        kept = store.signed_copies(db, [r["_id"] for r in db[store.CREDENTIALS].find({}, {"_id": 1})])
        documents = [copy.document for copy in kept.values()]
        rows.append(
            _timed(
                "service verify (single)",
                count,
                lambda: [_first_sight(verifying.verify_presented, runtime, d) for d in documents],
            )
        )
        inline = [{"credential": d} for d in documents]
        rows.append(_timed(f"service verify (batch of {BATCH}, inline)", count, lambda: _batches(runtime, inline)))
        by_id = [{"id": d["id"]} for d in documents]
        rows.append(_timed(f"service verify (batch of {BATCH}, by id)", count, lambda: _batches(runtime, by_id)))
        return rows
    finally:
        db.client.drop_database(settings.database_name)
        db.client.close()


def _work(count: int) -> list[dict]:
    return [work_approved_data(application_id=uuid.uuid4().hex) for _ in range(count)]


def _batches(runtime, items: list[dict]) -> None:
    for start in range(0, len(items), BATCH):
        results = _first_sight(verifying.verify_batch, runtime, items[start : start + BATCH])
        assert all(result["verified"] for result in results)


def print_table(rows: list[tuple[str, int, float]]) -> None:
    """One line per measurement with its rate and its ratio to the raw rate of the same kind."""
    rates = {label: count / seconds for label, count, seconds in rows}
    print(f"{'operation':<40} {'count':>6} {'seconds':>8} {'per second':>11} {'vs raw':>7}")
    for label, count, seconds in rows:
        raw = rates["raw sign"] if "issue" in label or "sign" in label else rates["raw verify"]
        print(f"{label:<40} {count:>6} {seconds:>8.2f} {count / seconds:>11.1f} {count / seconds / raw:>7.2f}")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, provide a database, measure, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.credentials", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="credentials per measurement")
    args = parser.parse_args(argv)
    rows = raw_rates(args.count)
    with tempfile.TemporaryDirectory(prefix="stint-bench-keys-") as key_dir:
        if os.environ.get("STINT_MONGO_URL"):
            rows += service_rates(os.environ["STINT_MONGO_URL"], key_dir, args.count)
        else:
            from devservers import FerretServer

            with tempfile.TemporaryDirectory(prefix="stint-bench-") as tmp:
                ferret = FerretServer(Path(tmp) / "ferretdb")
                ferret.start()
                try:
                    rows += service_rates(ferret.url, key_dir, args.count)
                finally:
                    ferret.stop()
    print_table(rows)


if __name__ == "__main__":
    main()
