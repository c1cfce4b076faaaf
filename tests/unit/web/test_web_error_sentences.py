"""An API's refusal becomes sentences: beside each field it names, and in the summary at the top of the page."""

from services.web.problems import ApiProblem, flatten_details, sentence
from services.web.views.common import page_errors

LABELS = {"cover_note": "your cover note", "stipend.amount": "the stipend in rupees", "skills": "the skills needed"}


def test_nested_marshmallow_messages_flatten_to_dotted_field_names():
    details = {"stipend": {"amount": ["Not a valid number."]}, "skills": {"2": ["Longer than maximum length 50."]}}

    assert flatten_details(details) == {
        "stipend.amount": "Not a valid number.",
        "skills.2": "Longer than maximum length 50.",
    }


def test_a_missing_field_asks_the_person_to_enter_it():
    problem = ApiProblem(
        422, "validation_failed", "the request did not validate", {"cover_note": ["Missing data for required field."]}
    )

    errors, summary = page_errors(problem, LABELS)

    assert errors["cover_note"] == "Enter your cover note."
    assert summary == [("cover_note", "Enter your cover note.")]


def test_an_error_inside_a_list_shows_beside_the_list_field_and_links_to_it():
    problem = ApiProblem(422, "validation_failed", "x", {"skills": {"2": ["Longer than maximum length 50."]}})

    errors, summary = page_errors(problem, LABELS)

    assert errors["skills"] == "The skills needed: longer than maximum length 50."
    assert summary == [("skills", "The skills needed: longer than maximum length 50.")]


def test_a_rule_about_one_field_is_shown_beside_that_field():
    problem = ApiProblem(422, "apply_by_passed", "apply_by must be in the future", {"stipend.amount": "x"})

    errors, summary = page_errors(problem, LABELS)

    assert errors == {"stipend.amount": "Apply_by must be in the future."}
    assert summary == [("stipend.amount", "Apply_by must be in the future.")]


def test_a_refusal_about_no_field_is_a_sentence_in_the_summary():
    problem = ApiProblem(409, "no_seats_left", "all 2 seat(s) of this listing are taken", {"seats": 2})

    errors, summary = page_errors(problem, {"note": "why"})

    assert errors == {}
    assert summary == ["All 2 seat(s) of this listing are taken."]


def test_sentences_start_with_a_capital_and_end_with_a_full_stop():
    assert sentence("  the listing is closed ") == "The listing is closed."
    assert sentence("Done!") == "Done!"


def test_a_field_left_empty_asks_for_it_whatever_the_api_said():
    problem = ApiProblem(422, "validation_failed", "x", {"stipend": {"amount": ["Not a valid number.", "Other."]}})
    problem.sent = {"stipend": {"amount": "  "}}

    assert page_errors(problem, LABELS)[0] == {"stipend.amount": "Enter the stipend in rupees."}


def test_a_choice_nobody_made_asks_to_choose():
    problem = ApiProblem(422, "validation_failed", "x", {"decision": ["Must be one of: approve, reject."]})
    problem.sent = {"decision": ""}

    assert page_errors(problem, {"decision": "your decision"})[0] == {"decision": "Choose your decision."}


def test_a_refusal_that_speaks_to_developers_is_said_for_people():
    problem = ApiProblem(403, "no_credit_request", "no student asked your university for credit for this credential")

    assert page_errors(problem, {"decision": "your decision"}) == (
        {},
        [
            "No student has asked your university for credit for this credential, so there is no decision to "
            "record. Students ask from their credentials page."
        ],
    )


def test_a_refusal_said_for_people_names_what_its_details_name():
    problem = ApiProblem(409, "credential_reissued", "replaced", {"successor": "urn:uuid:1b9d6bcd"})

    assert "(urn:uuid:1b9d6bcd)" in problem.said


def test_one_code_is_said_for_the_caller_it_concerns():
    registrar = ApiProblem(403, "university_not_verified", "only a verified university decides credit: PUT /x")
    student = ApiProblem(409, "university_not_verified", "this university is not verified yet; it cannot decide credit")

    assert registrar.said.startswith("Your university is not verified yet.")
    assert student.said == "This university is not verified yet; it cannot decide credit."


def test_a_refusal_without_the_details_its_wording_needs_keeps_the_api_message():
    assert ApiProblem(409, "key_is_current", "key-2 signs credentials now").said == "Key-2 signs credentials now."


def test_a_rule_about_one_field_is_said_beside_it_in_the_peoples_wording():
    problem = ApiProblem(409, "university_not_verified", "not verified", {"university_id": True})

    assert problem.field_errors({"university_id": "the university to ask"}) == {"university_id": "Not verified."}
