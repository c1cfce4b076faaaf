"""W3C Bitstring Status List: the revocation bitstring and the credential that publishes it (pure)."""

from __future__ import annotations

import base64
import binascii
import gzip
import secrets
from collections.abc import Iterable
from datetime import datetime

from services.certification.credential import utc_timestamp
from services.certification.jsonld import VC_V2

# The spec's minimum, so one list hides which credential is which among 131,072 positions.
LIST_SIZE = 131_072
# Open a new list once this many indexes are taken, so random picks rarely collide.
LIST_FILL_LIMIT = LIST_SIZE // 2


class StatusListError(ValueError):
    """An encoded list that is not multibase base64url of a GZIP bitstring."""


def random_index(size: int = LIST_SIZE) -> int:
    """A random position in a list, so an index says nothing about issue order."""
    return secrets.randbelow(size)


def bitstring(revoked: Iterable[int], size: int = LIST_SIZE) -> bytes:
    """The bitstring with the given indexes set; index 0 is the most significant bit of the first byte."""
    bits = bytearray(size // 8)
    for index in revoked:
        if 0 <= index < size:
            bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)


def encode_list(bits: bytes) -> str:
    """encodedList: multibase base64url (prefix 'u', no padding) of the GZIP-compressed bitstring."""
    compressed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_list(encoded: str) -> bytes:
    """The bitstring of an encodedList."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (prefix 'u')")
    body = encoded[1:]
    try:
        return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, OSError, EOFError) as exc:
        raise StatusListError(f"encodedList is not a GZIP bitstring: {exc}") from None


def is_set(bits: bytes, index: int) -> bool:
    """True when the bit at `index` is set (the credential is revoked)."""
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(list_url: str, issuer_did: str, valid_from: datetime, bits: bytes) -> dict:
    """The unsigned BitstringStatusListCredential for a revocation list."""
    return {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": utc_timestamp(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_list(bits),
        },
    }
