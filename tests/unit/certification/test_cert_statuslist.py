"""The Bitstring Status List encoding."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime

import pytest

from services.certification import statuslist as sl


def test_a_list_has_at_least_131072_positions():
    assert len(sl.bitstring([])) * 8 >= 131_072


def test_index_zero_is_the_first_bit_of_the_first_byte():
    bits = sl.bitstring([0, 9])
    assert bits[0] == 0b1000_0000 and bits[1] == 0b0100_0000
    assert sl.is_set(bits, 0) and sl.is_set(bits, 9) and not sl.is_set(bits, 1)


def test_the_encoded_list_is_multibase_base64url_of_gzip():
    encoded = sl.encode_list(sl.bitstring([5, 131_071]))
    assert encoded.startswith("u") and "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert sl.is_set(raw, 5) and sl.is_set(raw, 131_071) and not sl.is_set(raw, 6)
    assert sl.decode_list(encoded) == raw


def test_a_broken_encoded_list_is_refused():
    with pytest.raises(sl.StatusListError):
        sl.decode_list("zNotBase64url")
    with pytest.raises(sl.StatusListError):
        sl.decode_list("uAAAA")


def test_random_indexes_fall_inside_the_list():
    assert all(0 <= sl.random_index() < sl.LIST_SIZE for _ in range(1000))


def test_the_status_list_credential_names_its_purpose_and_list():
    document = sl.status_list_credential("https://v.test/status-lists/l1", "did:web:v.test", datetime.now(UTC), b"\0")
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["credentialSubject"]["statusPurpose"] == "revocation"
    assert document["credentialSubject"]["type"] == "BitstringStatusList"
