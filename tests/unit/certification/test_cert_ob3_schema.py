"""Every credential Stint builds conforms to the Open Badges 3.0 JSON Schema, closed world."""

from __future__ import annotations

import copy

import pytest

from tests.support.ob3_schema import OFFICIAL, schema_errors
from tests.unit.certification.test_cert_credential import build


def test_a_built_credential_conforms_to_the_ob3_schema_with_nothing_extra():
    assert schema_errors(build()) == []


def test_a_credential_with_no_skills_seen_and_no_links_conforms_too():
    credential = build(skills_demonstrated=[], submission={"links": [], "notes": "", "digest": "b" * 64})
    assert schema_errors(credential) == []
    assert "alignment" not in credential["credentialSubject"]["result"][0]


@pytest.mark.parametrize(
    ("where", "extra"),
    [
        (("credentialSubject",), {"engagementHours": 45}),
        (("credentialSubject",), {"skillsDemonstrated": ["Python"]}),
        (("credentialSubject",), {"name": "Asha Rao"}),
        (("credentialSubject", "source"), {"approver": {"type": ["Profile"], "name": "Ravi"}}),
        (("evidence", 0), {"submissionDigest": "sha256:" + "a" * 64}),
    ],
)
def test_the_schema_refuses_what_the_stint_v1_credentials_carried(where, extra):
    """The closed-world schema catches properties OB 3.0 does not define where they stand."""
    credential = copy.deepcopy(build())
    node = credential
    for step in where:
        node = node[step]
    node.update(extra)
    errors = schema_errors(credential)
    assert any("Additional properties are not allowed" in error for error in errors), errors


@pytest.mark.skipif(not OFFICIAL.exists(), reason=f"1EdTech's published schema is not at {OFFICIAL} (see README)")
def test_a_built_credential_conforms_to_1edtechs_published_schema():
    assert schema_errors(build(), OFFICIAL) == []
