"""Use cases of people and their organisations: choosing a role, registering an organisation, inviting
colleagues, and an administrator's grants. The identity provider keeps `role` and `org`; this service decides."""

from __future__ import annotations

import secrets
import uuid

import structlog
from pymongo.database import Database

from services.listing import domain, handlers, store
from services.listing.identity import IdentityProvider
from shared.auth import Principal
from shared.errors import NotFound, Unavailable
from shared.events import new_event
from shared.outbox import new_document_with_events

log = structlog.get_logger(__name__)


def _required(idp: IdentityProvider | None) -> IdentityProvider:
    if idp is None:
        raise Unavailable(
            "accounts are kept by the identity provider, which this service is not connected to "
            "(STINT_KEYCLOAK_URL, STINT_ACCOUNTS_CLIENT_SECRET)",
            code="identity_provider_unavailable",
        )
    return idp


def my_account(idp: IdentityProvider | None, caller: Principal) -> dict:
    """The caller's account as the identity provider holds it now (fresher than the token)."""
    return _required(idp).account(caller.sub).view()


def choose_role(idp: IdentityProvider | None, caller: Principal, role: str) -> dict:
    """A new account becomes a student or an employer, once."""
    idp = _required(idp)
    account = idp.account(caller.sub)
    domain.check_chosen_role(account.role, role)
    log.info("role_chosen", user_id=caller.sub, role=role)
    return idp.set_attributes(caller.sub, role=role).view()


def grant_role(idp: IdentityProvider | None, db: Database, user_id: str, role: str, org: str | None) -> dict:
    """An administrator gives an account any role (university and admin only come this way)."""
    idp = _required(idp)
    org = org if role in domain.ROLES_WITH_ORG else None
    domain.check_granted_role(role, org)
    if role == "employer" and store.find_org(db, org) is None:
        raise NotFound("no organisation with this id", code="org_not_found", details={"org": ["not found"]})
    account = idp.set_attributes(user_id, role=role, org=org)
    log.info("role_granted", user_id=user_id, role=role, org=org)
    return account.view()


def register_my_org(db: Database, idp: IdentityProvider | None, caller: Principal, profile: dict, traceparent=None):
    """Register the caller's organisation (or update it). An employer without one gets a new id, recorded on
    their account first, so a retry after a crash finishes the same organisation instead of making a second."""
    org_id = caller.org
    if not org_id:
        idp = _required(idp)
        account = idp.account(caller.sub)
        org_id = account.org
        if not org_id:
            org_id = domain.new_org_id(profile["name"], secrets.token_hex(3))
            idp.set_attributes(caller.sub, org=org_id)
    return handlers.register_org(db, org_id, profile, caller.email, caller.sub, traceparent)


def invite_colleague(db: Database, caller: Principal, email: str, web_url: str, traceparent=None) -> dict:
    """Invite someone by email to join the caller's organisation; they are emailed a link to accept."""
    org = store.find_org(db, caller.org)
    if org is None:
        raise NotFound("register your organisation before inviting colleagues", code="org_not_found")
    invited_by = {"id": caller.sub, "name": caller.name, "email": caller.email}
    invitation = domain.new_invitation(str(uuid.uuid4()), org, email, invited_by, handlers.now())
    snapshot = domain.invitation_snapshot(invitation, f"{web_url.rstrip('/')}/invitations/{invitation['_id']}")
    event = new_event("stint.org.member_invited.v1", handlers.SOURCE, org["_id"], snapshot, traceparent)
    store.insert_invitation(db, new_document_with_events(invitation, [event]))
    log.info("colleague_invited", org_id=org["_id"], invitation_id=invitation["_id"])
    return invitation


def org_invitations(db: Database, caller: Principal, limit: int, cursor: str | None):
    """The invitations the caller's organisation sent, newest first."""
    return store.invitation_page(db, caller.org, limit, cursor)


def accept_invitation(db: Database, idp: IdentityProvider | None, caller: Principal, invitation_id: str) -> dict:
    """The invited person joins the organisation as an employer."""
    idp = _required(idp)
    invitation = store.find_invitation(db, invitation_id)
    if invitation is None:
        raise NotFound("no such invitation", code="invitation_not_found")
    account = idp.account(caller.sub)
    domain.check_can_accept(invitation, account.email, account.email_verified, account.role, account.org)
    idp.set_attributes(caller.sub, role="employer", org=invitation["org_id"])
    accepted = domain.accept(invitation, caller.sub, handlers.now())
    changes = {field: accepted[field] for field in ("status", "accepted_at", "accepted_by")}
    stored = store.update_invitation(db, invitation, changes)
    log.info("invitation_accepted", org_id=invitation["org_id"], invitation_id=invitation_id)
    return stored or store.find_invitation(db, invitation_id)


def orgs_in_status(db: Database, status: str, limit: int, cursor: str | None):
    """An administrator's queue: organisations in `status`, newest first."""
    return store.org_page_by_status(db, status, limit, cursor)
