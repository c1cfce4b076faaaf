"""An API's refusal, as the web shows it: every API answers errors in one shape, {"error": {"code", "message",
"details"}}; a 422 from webargs keys `details` by field. Here that becomes one sentence per form field, named as the
field's label asks, and sentences for the error summary."""

from __future__ import annotations

from collections.abc import Mapping

MISSING = "Missing data for required field."
# Refusals whose API message speaks to developers (paths, ids), said for people instead; "code/status" wins over
# "code" where one code means different things to different callers. {name} takes the refusal's details.
REFUSALS = {
    "university_not_verified/403": "Your university is not verified yet. Save its profile, then a Stint admin "
    "verifies it; after that you can decide credit.",
    "no_credit_request": "No student has asked your university for credit for this credential, so there is no "
    "decision to record. Students ask from their credentials page.",
    "decision_exists": "Your university has already decided on this request. The decision is on your credit desk.",
    "credential_reissued": "This credential was replaced by a re-issued one ({successor}), so this one can no longer "
    "earn credit. The student asks again for credit for the re-issued credential.",
    "credit_request_exists": "You have already asked this university for credit for this credential (the request "
    "is {status}). A university decides once per credential.",
    "key_is_current": "The key {key} signs credentials now, so it cannot be revoked. Make a new signing key first, "
    "then revoke this one.",
    "paid_on_in_future": "The day paid is in the future: record a payment once it is made.",
    "paid_on_before_application": "The day paid is before the student applied.",
    "key_recently_current": "This key signed credentials moments ago and may still be in use. Try again in "
    "{retry_after_seconds} seconds.",
}


class ApiProblem(Exception):
    """An API said no (4xx) or could not answer (5xx, unreachable): its status, code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: Mapping | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, dict(details or {})
        self.sent: Mapping | None = None  # the body the web sent, so a field left empty reads "Enter …"

    @property
    def said(self) -> str:
        """The refusal as a sentence for people: REFUSALS' wording when it has one, else the API's message."""
        wording = REFUSALS.get(f"{self.code}/{self.status}") or REFUSALS.get(self.code)
        if wording:
            try:
                return sentence(wording.format(**self.details))
            except (KeyError, IndexError, ValueError):
                pass  # details missing: the API's own message still says it
        return sentence(self.message)

    @property
    def is_validation(self) -> bool:
        """True when the API refused the body field by field (webargs' 422)."""
        return self.status == 422 and self.code == "validation_failed"

    def field_errors(self, labels: Mapping[str, str]) -> dict[str, str]:
        """One sentence per form field the API complained about, keyed by the API's field name (nested as a.b)."""
        if self.is_validation:
            return {
                name: field_sentence(name, text, labels, left_empty=is_empty(sent_value(self.sent, name)))
                for name, text in flatten_details(self.details).items()
            }
        # A rule broken about one field (e.g. apply_by in the past) names it in its details.
        return {name: self.said for name in self.details if name in labels}


def flatten_details(details: Mapping, prefix: str = "") -> dict[str, str]:
    """Marshmallow's nested error messages as {"stipend.amount": "Not a valid number.", "skills.0": "..."}."""
    flat: dict[str, str] = {}
    for key, value in details.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_details(value, name + "."))
        elif isinstance(value, list | tuple):
            texts = [str(item) for item in value if not isinstance(item, Mapping)][:1]  # the first says enough
            for item in value:
                if isinstance(item, Mapping):
                    flat.update(flatten_details(item, name + "."))
            if texts:
                flat[name] = " ".join(texts)
        else:
            flat[name] = str(value)
    return flat


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, full stop at the end."""
    text = " ".join(str(text).split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def sent_value(body: Mapping | None, name: str):
    """The value at a dotted field name (stipend.amount, answers.0) in the body sent; None when absent."""
    value = body
    for part in name.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def is_empty(value) -> bool:
    """True for what a person leaves empty: blank text, an empty list (an absent field is "missing" already)."""
    return (isinstance(value, str) and not value.strip()) or value == []


def field_sentence(name: str, text: str, labels: Mapping[str, str], left_empty: bool = False) -> str:
    """A field's error, naming the field as its label does ("Enter the cover note.")."""
    label = labels.get(name) or labels.get(name.split(".")[0]) or name.replace("_", " ").replace(".", " ")
    if left_empty and text.startswith("Must be one of"):  # a choice (radios) nobody made
        return sentence(f"choose {label}")
    if text.strip() == MISSING or left_empty:
        return sentence(f"enter {label}")
    return sentence(f"{label}: {text[0].lower() + text[1:] if text else text}")
