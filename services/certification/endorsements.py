"""Endorsements: an employer's recommendation of approved work, issued as an Open Badges 3.0 EndorsementCredential
by the employer's organisation's own did:web (did:web:<host>:orgs:<org>), with a key the platform holds for it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, unquote

import structlog
from pymongo.errors import DuplicateKeyError

from services.certification import dataintegrity as di
from services.certification import store
from services.certification.credential import CONTEXTS, utc_timestamp
from services.certification.keys import KeyRing, describe_key, did_document
from services.certification.runtime import Runtime
from services.certification.verification_checks import Check, parse_time, result
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import new_event
from shared.outbox import new_document_with_events

log = structlog.get_logger(__name__)
SOURCE = "certification"
ENDORSEMENT_TYPES = ["VerifiableCredential", "EndorsementCredential"]
COMMENT_MAX = 2000


class NotApproved(Conflict):
    """Only approved work (its credential issued) is endorsed."""

    code = "not_approved"


class AlreadyEndorsed(Conflict):
    """An application's work is endorsed once."""

    code = "already_endorsed"


class NotYourOrganisation(Forbidden):
    """An employer endorses only work done for their own organisation."""

    code = "not_your_organisation"


# ---- the credential (pure) ---------------------------------------------------------------


def org_did(issuer_did: str, org_id: str) -> str:
    """An organisation's did:web, a path under the platform's: did:web:<host>:orgs:<org>."""
    return f"{issuer_did}:orgs:{quote(org_id, safe='-._~')}"


def build_endorsement(
    *,
    endorsement_id: str,
    credential_id: str,
    org: dict,
    comment: str,
    student_name: str,
    listing_title: str,
    issued_at: datetime,
) -> dict:
    """The unsigned EndorsementCredential: `org` ({"did", "name"}) recommends the work `credential_id` records."""
    for_whom = f"{student_name}'s" if student_name else "the"
    return {
        "@context": list(CONTEXTS),
        "id": endorsement_id,
        "type": list(ENDORSEMENT_TYPES),
        "name": f"{org['name']} endorses {for_whom} work on \u201c{listing_title}\u201d",
        "description": f"A recommendation written by {org['name']} after approving the work.",
        "issuer": {"id": org["did"], "type": ["Profile"], "name": org["name"]},
        "validFrom": utc_timestamp(issued_at),
        "credentialSubject": {
            "id": credential_id,
            "type": ["EndorsementSubject"],
            "endorsementComment": comment,
        },
    }


# ---- keys --------------------------------------------------------------------------------


def org_keyring(runtime: Runtime, org_id: str) -> KeyRing:
    """The organisation's key ring: its private keys in the platform's key directory, its records apart."""
    return KeyRing(runtime.db, runtime.keyring.key_dir, collection=store.ORG_SIGNING_KEYS, owner=org_id)


def org_key_records(runtime: Runtime, org_id: str) -> list[dict]:
    """An organisation's key records, oldest first."""
    return store.org_key_records(runtime.db, org_id)


def rotate_org_keys(runtime: Runtime) -> list[dict]:
    """Rotate every organisation's key (alongside the platform's rotation: POST /keys/rotate)."""
    owners = store.orgs_with_current_keys(runtime.db)
    return [org_keyring(runtime, owner).rotate() for owner in owners]


def org_did_document(runtime: Runtime, org_id: str) -> dict:
    """The organisation's DID document: its current and retired keys (never a revoked one); 404 before its first
    endorsement."""
    records = org_key_records(runtime, org_id)
    if not any(record["status"] != "revoked" for record in records):
        raise NotFound("this organisation has endorsed nothing yet, so it has no DID", code="org_did_not_found")
    return did_document(org_did(runtime.did, org_id), records)


# ---- endorsing ---------------------------------------------------------------------------


def _current_credential(runtime: Runtime, application_id: str) -> dict | None:
    """The application's credential that still stands (a re-issued one replaces its predecessor)."""
    return store.standing_credential_of_application(runtime.db, application_id)


def endorse(runtime: Runtime, principal: Principal, application_id: str, comment: str, traceparent=None) -> dict:
    """Sign the employer's recommendation of an application's approved work as its organisation; one per
    application (409 for a second, or before the work's credential exists), only for the employer's own org (403)."""
    record = _current_credential(runtime, application_id)
    if record is None:
        raise NotApproved(
            "there is no credential for this application yet: endorse work after approving it, once its credential "
            "is issued"
        )
    if record.get("org_id") != principal.org:
        raise NotYourOrganisation("this work was done for another organisation")
    if store.application_endorsed(runtime.db, application_id):
        raise AlreadyEndorsed("your organisation already endorsed this work")
    endorsement_uuid = str(uuid.uuid4())
    endorsement_id = f"urn:uuid:{endorsement_uuid}"
    now = datetime.now(UTC).replace(microsecond=0)
    org = {"did": org_did(runtime.did, record["org_id"]), "name": record.get("org_name") or record["org_id"]}
    unsigned = build_endorsement(
        endorsement_id=endorsement_id,
        credential_id=record["credential_id"],
        org=org,
        comment=comment,
        student_name=record["student"].get("name", ""),
        listing_title=record.get("listing_title", ""),
        issued_at=now,
    )
    signing = org_keyring(runtime, record["org_id"]).current()
    options = di.proof_options(f"{org['did']}#{signing.key_id}", utc_timestamp(now))
    signed = di.add_proof(unsigned, options, signing.private_key)
    summary = {
        "endorsement_id": endorsement_id,
        "credential_id": record["credential_id"],
        "credential_uuid": record["_id"],
        "application_id": application_id,
        "org_id": record["org_id"],
        "org_name": org["name"],
        "org_did": org["did"],
        "comment": comment,
        "endorsed_by": principal.sub,
        "issued_at": now,
        "key_id": signing.key_id,
    }
    endorsed = new_event(
        "stint.endorsement.issued.v1",
        SOURCE,
        record["credential_id"],
        {
            "credential_id": record["credential_id"],
            "application_id": application_id,
            "student": record["student"],
            "org_id": record["org_id"],
            "listing_title": record.get("listing_title", ""),
            "verification_url": record["verification_url"],
            "endorsement_id": endorsement_id,
            "org_name": org["name"],
            "endorsement_url": endorsement_url(runtime, endorsement_uuid),
        },
        traceparent=traceparent,
    )
    document = {"_id": endorsement_uuid, **summary, "json": json.dumps(signed, ensure_ascii=False)}
    try:
        store.insert_endorsement(runtime.db, new_document_with_events(document, [endorsed]))
    except DuplicateKeyError:  # a concurrent endorsement of the same application won
        raise AlreadyEndorsed("your organisation already endorsed this work") from None
    log.info("credential_endorsed", endorsement_id=endorsement_id, credential_id=record["credential_id"])
    return view(runtime, document)


def endorsement_url(runtime: Runtime, endorsement_uuid: str) -> str:
    """Where the signed EndorsementCredential is served."""
    return f"{runtime.public_url}/endorsements/{endorsement_uuid}"


def view(runtime: Runtime, record: dict) -> dict:
    """An endorsement as the API lists it (the signed JSON is at `url`)."""
    return {
        "id": record["endorsement_id"],
        "credential_id": record["credential_id"],
        "application_id": record["application_id"],
        "org_id": record["org_id"],
        "org_name": record["org_name"],
        "issuer": record["org_did"],
        "comment": record["comment"],
        "issued_at": record["issued_at"],
        "url": endorsement_url(runtime, record["_id"]),
    }


def signed_endorsement(runtime: Runtime, endorsement_id: str) -> dict:
    """The signed EndorsementCredential, exactly as issued."""
    record = _endorsement_or_404(runtime, endorsement_id)
    return json.loads(record["json"])


def _endorsement_or_404(runtime: Runtime, endorsement_id: str) -> dict:
    endorsement_uuid = store.parse_uuid(endorsement_id)
    record = store.endorsement(runtime.db, endorsement_uuid) if endorsement_uuid else None
    if record is None:
        raise NotFound("no such endorsement", code="endorsement_not_found")
    return record


def endorsements_of_application(runtime: Runtime, principal: Principal, application_id: str) -> list[dict]:
    """The employer's own organisation's endorsement of an application (a list of at most one)."""
    found = store.endorsements_of_application(runtime.db, application_id, principal.org)
    return [view(runtime, record) for record in found]


def endorsements_of_credentials(runtime: Runtime, credential_uuids: list[str]) -> list[dict]:
    """The endorsements of several credentials (one query), oldest first, without their checks."""
    found = store.endorsements_of_credentials(runtime.db, credential_uuids, signed=False)
    return [view(runtime, record) for record in found]


def endorsements_of_credential(runtime: Runtime, credential_uuid: str) -> list[dict]:
    """Every endorsement of a credential, each with its verification (public: they are linked from it)."""
    return [
        view(runtime, record) | {"verification": verify_endorsement(runtime, json.loads(record["json"]))}
        for record in store.endorsements_of_credentials(runtime.db, [credential_uuid])
    ]


# ---- verifying ---------------------------------------------------------------------------


def _org_key(runtime: Runtime, method: str) -> tuple[str, str] | None:
    """The publicKeyMultibase and description of an organisation's published key `did…:orgs:<org>#key-<n>`."""
    did, _, key_id = method.partition("#")
    prefix = runtime.did + ":orgs:"
    if not did.startswith(prefix) or not key_id:
        return None
    record = store.org_key_record(runtime.db, f"{unquote(did[len(prefix) :])}/{key_id}")
    if record is None or record["status"] == "revoked":
        return None
    return record["public_key_multibase"], describe_key(record)


def verify_endorsement(runtime: Runtime, document: dict, now: datetime | None = None) -> dict:
    """Stint's own checks of an endorsement: issued by an organisation's did:web under Stint's, signed with one of its
    published keys, unaltered, and within its validity window."""
    now = now or datetime.now(UTC)
    issuer = (document.get("issuer") or {}).get("id") if isinstance(document.get("issuer"), dict) else None
    proof = document.get("proof") if isinstance(document.get("proof"), dict) else {}
    method = proof.get("verificationMethod") or ""
    found = _org_key(runtime, method) if isinstance(method, str) and method.startswith(f"{issuer}#") else None
    if found is None:
        key_check = Check("issuer_key", False, f"{method or 'the proof'} is not a published key of {issuer}")
    else:
        key_check = Check("issuer_key", True, f"signed by {issuer} with {method.rsplit('#', 1)[1]} ({found[1]})")
    try:
        if found is None:
            raise di.ProofError("not checked: the signing key is not known or not trusted")
        di.verify_proof(document, di.public_key_from_multibase(found[0]))
        signature = Check("signature", True, "the eddsa-rdfc-2022 signature is valid")
    except di.ProofError as exc:
        signature = Check("signature", False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a stored document that no longer processes is simply not valid
        signature = Check("signature", False, f"the endorsement does not process ({type(exc).__name__})")
    valid_from = parse_time(document.get("validFrom"))
    window = Check(
        "validity_window",
        valid_from is not None and valid_from <= now,
        f"valid from {document.get('validFrom')}" if valid_from else "validFrom is missing",
    )
    return result([key_check, signature, window])


def page_entries(runtime: Runtime, credential_uuid: str) -> list[dict]:
    """A credential's endorsements as its verification page (and GET /verify/{id}) shows them."""
    return [
        {
            "org_name": entry["org_name"],
            "issuer": entry["issuer"],
            "comment": entry["comment"],
            "issued": f"{entry['issued_at']:%Y-%m-%d}",
            "issued_at": entry["issued_at"].replace(tzinfo=UTC).isoformat(),
            "url": entry["url"],
            "verified": entry["verification"]["verified"],
            "checks": entry["verification"]["checks"],
        }
        for entry in endorsements_of_credential(runtime, credential_uuid)
    ]
