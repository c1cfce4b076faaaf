"""The checks that verify a presented credential, each concern a separate, named check (pure: no I/O; the key and
status lookups are injected as a `Verifier`). The use cases that run them with this service's keys and status lists:
verifying.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyld.jsonld import JsonLdError

from services.certification import dataintegrity as di
from services.certification.credential import CREDENTIAL_TYPES
from services.certification.jsonld import SHIPPED, VC_V2, ContextNotShipped, NotStrictJsonLd

CLOCK_SKEW = timedelta(minutes=5)
NOT_CHECKED = "not checked: the credential is not well-formed"


@dataclass(frozen=True)
class Check:
    """One named verification check and its outcome."""

    name: str
    passed: bool
    message: str

    def as_json(self) -> dict:
        """The check as the API reports it."""
        return {"name": self.name, "passed": self.passed, "message": self.message}


@dataclass(frozen=True)
class Verifier:
    """What verification needs from the service: its DID, key lookup and status lookup."""

    issuer_did: str
    status_list_prefix: str
    # verification method id → publicKeyMultibase and a description ("current", "retired on ..."), or None
    find_key: Callable[[str], tuple[str, str] | None]
    # (status list id, index) → revoked? None when the list is not one of ours
    is_revoked: Callable[[str, int], bool | None]
    # verification method id → why the key is no longer trusted (revoked as compromised), or None
    key_revoked: Callable[[str], str | None] = lambda _method: None


def result(checks: list[Check]) -> dict:
    """The answer of POST /verify."""
    return {"verified": all(check.passed for check in checks), "checks": [c.as_json() for c in checks]}


def vc_api_result(answer: dict) -> dict:
    """POST /verify's answer in the W3C VC API's shape: checks that passed, an error for each that failed."""
    return {
        "checks": [check["name"] for check in answer["checks"] if check["passed"]],
        "warnings": [],
        "errors": [
            {"type": check["name"], "title": f"the {check['name']} check failed", "detail": check["message"]}
            for check in answer["checks"]
            if not check["passed"]
        ],
    }


def unknown_credential(credential_id: str) -> dict:
    """The answer for an id that Stint never issued."""
    return result([Check("found", False, f"no credential with id {credential_id} was issued by Stint")])


def verify(document, verifier: Verifier, now: datetime, kept: di.KeptCopy | None = None) -> dict:
    """Run every check on a presented credential (`kept`: how to read the issuer's copy of the credential with that
    id, if it has one, which spares canonicalising a presented credential that is the same JSON)."""
    shape_problem = _shape_problem(document)
    data = proof = None
    if shape_problem is None:
        try:
            proof, data = di.prepare_verification(document, kept=kept)
        except (NotStrictJsonLd, ContextNotShipped, di.ProofError) as exc:
            shape_problem = str(exc)
        except JsonLdError as exc:
            shape_problem = f"the JSON-LD does not process: {str(exc).splitlines()[0][:200]}"
        except (RecursionError, TypeError, ValueError, KeyError, AttributeError) as exc:
            # Presented documents are arbitrary JSON: whatever trips the processor is simply not well-formed.
            shape_problem = f"the JSON-LD does not process ({type(exc).__name__})"
    checks = [
        Check("well_formed", shape_problem is None, shape_problem or "a W3C VC 2.0 OpenBadgeCredential"),
    ]
    key = _issuer_key_check(document, verifier)
    checks.append(key[0])
    checks.append(_signature_check(key[1], proof, data))
    checks.append(_status_check(document, verifier))
    checks.append(_validity_check(document, now))
    return result(checks)


def _shape_problem(document) -> str | None:
    """Why `document` is not shaped like a Stint credential, or None."""
    if not isinstance(document, dict):
        return "the credential must be a JSON object"
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2:
        return f"@context must be a list starting with {VC_V2}"
    unknown = [c for c in contexts if not isinstance(c, str) or c not in SHIPPED]
    if unknown:
        return f"@context holds contexts this verifier does not know: {unknown!r}"[:300]
    types = document.get("type")
    if not isinstance(types, list) or not set(CREDENTIAL_TYPES) <= set(types):
        return f"type must include {' and '.join(CREDENTIAL_TYPES)}"
    for field in ("id", "issuer", "validFrom", "credentialSubject", "credentialStatus", "proof"):
        if field not in document:
            return f"the credential has no {field}"
    if not isinstance(document["id"], str) or not document["id"].startswith("urn:uuid:"):
        return "id must be a urn:uuid"
    if not isinstance(document["proof"], dict):
        return "proof must be a single DataIntegrityProof object"
    if document["proof"].get("proofPurpose") != "assertionMethod":
        return "the proof's purpose must be assertionMethod"
    return None


def _issuer_id(document) -> str | None:
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _issuer_key_check(document, verifier: Verifier) -> tuple[Check, str | None]:
    """The issuer is Stint's DID and the proof names one of its keys (current or retired)."""
    name = "issuer_key"
    issuer = _issuer_id(document)
    if issuer != verifier.issuer_did:
        return Check(name, False, f"the issuer {issuer!r} is not {verifier.issuer_did}"), None
    proof = document.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    if not isinstance(method, str) or not method.startswith(verifier.issuer_did + "#"):
        return Check(name, False, "the proof's verificationMethod is not a key of the issuer"), None
    found = verifier.find_key(method)
    revoked = verifier.key_revoked(method) if found is None else None
    if revoked:
        return Check(name, False, revoked), None
    if found is None:
        return Check(name, False, f"{method} is not listed in the issuer's DID document"), None
    public_key, description = found
    return Check(name, True, f"signed with {method.rsplit('#', 1)[1]} ({description})"), public_key


def _signature_check(public_key: str | None, proof: dict | None, data) -> Check:
    """The eddsa-rdfc-2022 signature covers exactly this credential."""
    name = "signature"
    if data is None or proof is None:
        return Check(name, False, NOT_CHECKED)
    if public_key is None:
        return Check(name, False, "not checked: the signing key is not known or not trusted")
    try:
        di.verify_signature(di.public_key_from_multibase(public_key), proof, data)
    except di.ProofError as exc:
        return Check(name, False, str(exc))
    return Check(name, True, "the eddsa-rdfc-2022 signature is valid")


def _status_check(document, verifier: Verifier) -> Check:
    """The credential's bit in Stint's revocation list is not set."""
    name = "status"
    entry = document.get("credentialStatus") if isinstance(document, dict) else None
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        return Check(name, False, "the credential has no BitstringStatusListEntry")
    if entry.get("statusPurpose") != "revocation":
        return Check(name, False, "the status entry is not for revocation")
    list_url, index = entry.get("statusListCredential"), entry.get("statusListIndex")
    if not isinstance(list_url, str) or not list_url.startswith(verifier.status_list_prefix):
        return Check(name, False, "the status list is not one of the issuer's")
    if not isinstance(index, str) or not index.isdigit():
        return Check(name, False, "statusListIndex must be a decimal string")
    revoked = verifier.is_revoked(list_url[len(verifier.status_list_prefix) :], int(index))
    if revoked is None:
        return Check(name, False, "the status list is unknown to the issuer")
    if revoked:
        return Check(name, False, "the credential has been revoked")
    return Check(name, True, "not revoked")


def parse_time(value) -> datetime | None:
    """An XML Schema dateTime with a time zone, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _validity_check(document, now: datetime) -> Check:
    """Now lies between validFrom and validUntil."""
    name = "validity_window"
    if not isinstance(document, dict):
        return Check(name, False, NOT_CHECKED)
    valid_from = parse_time(document.get("validFrom"))
    if valid_from is None:
        return Check(name, False, "validFrom is missing or not a dateTime with a time zone")
    if valid_from > now + CLOCK_SKEW:
        return Check(name, False, f"not valid before {document['validFrom']}")
    if "validUntil" in document:
        valid_until = parse_time(document.get("validUntil"))
        if valid_until is None:
            return Check(name, False, "validUntil is not a dateTime with a time zone")
        if valid_until <= now:
            return Check(name, False, f"expired at {document['validUntil']}")
        return Check(name, True, f"valid from {document['validFrom']} until {document['validUntil']}")
    return Check(name, True, f"valid from {document['validFrom']} (no expiry)")
