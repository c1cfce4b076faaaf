"""Use cases of portfolios: a student chooses a handle, a headline, credentials and work samples to show, and opts
in; anyone reads the published page."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from services.certification import store
from services.certification.linkedin import add_to_profile_url
from services.certification.portfolio_rules import HandleTaken, check_shown_credentials, handle_key, public_portfolio
from services.certification.runtime import Runtime
from shared.auth import Principal
from shared.errors import NotFound

log = structlog.get_logger(__name__)
NOT_PUBLISHED = "no public portfolio has this handle"


class PortfolioNotFound(NotFound):
    """No portfolio saved yet, or (to anyone else) none published under this handle."""

    code = "portfolio_not_found"


def page_url(runtime: Runtime, handle: str) -> str:
    """The public address of a portfolio."""
    return f"{runtime.public_url}/portfolios/{handle}"


def my_portfolio(runtime: Runtime, principal: Principal) -> dict:
    """The student's own portfolio as saved (published or not), with its public address."""
    found = store.portfolio(runtime.db, principal.sub)
    if found is None:
        raise PortfolioNotFound("you have no portfolio yet: choose a handle to start one")
    return _own_view(runtime, found)


def save_portfolio(runtime: Runtime, principal: Principal, body: dict) -> dict:
    """Create or replace the student's portfolio; a refusal (handle, credentials) changes nothing."""
    db = runtime.db
    key = handle_key(body["handle"])
    requested = body["credential_ids"]
    uuids = {cid: store.parse_uuid(cid) for cid in requested}
    records = store.credentials_by_ids(db, [u for u in uuids.values() if u])
    shown = check_shown_credentials(requested, {cid: records.get(u) for cid, u in uuids.items()}, principal.sub)
    with store.portfolio_lock(db, principal.sub):
        existing = store.portfolio(db, principal.sub)
        if not store.claim_handle(db, key, principal.sub):
            raise HandleTaken(
                f"the handle “{body['handle']}” is taken: choose another", details={"handle": body["handle"]}
            )
        now = datetime.now(UTC).replace(microsecond=0)  # as the database keeps it (milliseconds)
        portfolio = {
            "_id": principal.sub,
            "handle": body["handle"].strip(),
            "handle_key": key,
            "name": principal.name or (existing or {}).get("name", ""),
            "headline": body["headline"].strip(),
            "published": body["published"],
            "credential_ids": shown,
            "work_samples": body["work_samples"],
            "created_at": (existing or {}).get("created_at", now),
            "updated_at": now,
        }
        store.save_portfolio(db, portfolio)
        if existing is not None and existing["handle_key"] != key:
            store.release_handle(db, existing["handle_key"], principal.sub)
    log.info("portfolio_saved", student_id=principal.sub, published=portfolio["published"])
    return _own_view(runtime, portfolio)


def published_portfolio(runtime: Runtime, handle: str) -> dict:
    """What anyone sees under a handle; the same 404 for a handle nobody has and a portfolio not published."""
    key = handle.strip().lower()
    found = store.portfolio_with_handle(runtime.db, key) if len(key) <= 100 else None
    if found is None or not found.get("published"):
        raise PortfolioNotFound(NOT_PUBLISHED)
    records = _records_with_successors(runtime, found["credential_ids"])
    return public_portfolio(found, records, page_url(runtime, found["handle"]), add_to_profile_url)


def _records_with_successors(runtime: Runtime, uuids: list[str]) -> dict[str, dict]:
    """The chosen credentials' records, and the records of any that were re-issued (one more read)."""
    records = store.credentials_by_ids(runtime.db, uuids) if uuids else {}
    successors = [r["superseded_by"] for r in records.values() if r.get("superseded_by")]
    if successors:
        records |= store.credentials_by_ids(runtime.db, successors)
    return records


def _own_view(runtime: Runtime, portfolio: dict) -> dict:
    """The portfolio as its student edits it (credential ids as issued, urn:uuid:...)."""
    return {
        **{key: portfolio[key] for key in ("handle", "headline", "published", "work_samples", "updated_at")},
        "credential_ids": [f"urn:uuid:{uuid}" for uuid in portfolio["credential_ids"]],
        "url": page_url(runtime, portfolio["handle"]),
    }
