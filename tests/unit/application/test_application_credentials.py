"""Highlighting earlier credentials when applying: only the student's own, unrevoked ones; shown as verified."""

from __future__ import annotations

import marshmallow as ma
import pytest

from services.application import domain
from services.application.schemas import ApplicationSchema, ApplyRequestSchema
from shared.errors import Unprocessable

MINE = "urn:uuid:2f1c9a4e-8d7b-4c3a-9e21-5b6d7f8a9c0d"
THEIRS = "urn:uuid:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
REVOKED = "urn:uuid:0b8f7a52-3f7e-4c55-9d0e-7b1f2a3c4d5e"
UNKNOWN = "urn:uuid:5b1f0c9e-2a3d-4e5f-8a7b-9c0d1e2f3a4b"
KNOWN = {
    MINE: {"student_id": "stu-1", "listing_title": "Dashboard", "verification_url": "https://v.example/verify/1"},
    THEIRS: {"student_id": "stu-2", "listing_title": "Logo", "verification_url": "https://v.example/verify/2"},
    REVOKED: {"student_id": "stu-1", "revoked": True, "verification_url": "https://v.example/verify/3"},
}


def test_a_student_highlights_their_own_credential_once_however_often_named():
    highlighted = domain.check_highlighted_credentials([MINE, MINE], KNOWN, "stu-1")
    assert highlighted == [
        {"credential_id": MINE, "listing_title": "Dashboard", "verification_url": "https://v.example/verify/1"}
    ]


@pytest.mark.parametrize(
    ("requested", "code"),
    [([THEIRS], "credential_not_yours"), ([UNKNOWN], "credential_not_yours"), ([MINE, REVOKED], "credential_revoked")],
)
def test_someone_elses_an_unknown_or_a_revoked_credential_is_refused(requested, code):
    with pytest.raises(Unprocessable) as error:
        domain.check_highlighted_credentials(requested, KNOWN, "stu-1")
    assert error.value.code == code
    assert error.value.details["credential_ids"] == [requested[-1]]


def test_a_credential_re_issued_under_a_new_key_is_refused_naming_its_successor():
    known = {**KNOWN, MINE: {**KNOWN[MINE], "revoked": True, "replaced_by": UNKNOWN}}
    with pytest.raises(Unprocessable) as error:
        domain.check_highlighted_credentials([MINE], known, "stu-1")
    assert error.value.code == "credential_replaced"
    assert error.value.details == {"credential_ids": [MINE], "replaced_by": [UNKNOWN]}


def test_a_highlight_stays_verified_only_while_the_credential_is_the_students_and_unrevoked():
    highlight = {"credential_id": MINE}
    assert domain.credential_verified(highlight, KNOWN[MINE], "stu-1") is True
    assert domain.credential_verified(highlight, {**KNOWN[MINE], "revoked": True}, "stu-1") is False
    assert domain.credential_verified(highlight, None, "stu-1") is False


def test_credential_ids_are_read_in_their_canonical_form():
    body = {"listing_id": "L", "cover_note": "hi", "credential_ids": [MINE.upper().replace("URN:UUID:", "urn:uuid:")]}
    assert ApplyRequestSchema().load(body)["credential_ids"] == [MINE]
    bare = {**body, "credential_ids": [MINE.removeprefix("urn:uuid:")]}
    assert ApplyRequestSchema().load(bare)["credential_ids"] == [MINE]
    assert ApplyRequestSchema().load({"listing_id": "L", "cover_note": "hi"})["credential_ids"] == []


@pytest.mark.parametrize("ids", [["urn:uuid:nope"], ["'; drop"], [42], [MINE] * 11, MINE])
def test_a_garbled_or_overlong_list_of_credential_ids_is_refused(ids):
    with pytest.raises(ma.ValidationError) as error:
        ApplyRequestSchema().load({"listing_id": "L", "cover_note": "hi", "credential_ids": ids})
    assert "credential_ids" in error.value.messages


def test_an_application_without_highlights_shows_an_empty_list():
    assert ApplicationSchema().dump({"_id": "a"})["highlighted_credentials"] == []
