"""Verifying on the real database: tampering with any field fails; batches, the page, the PDF."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.certification import issuing, verifying
from services.certification.app import create_app
from shared.events import read_event
from tests.unit.certification.samples import reordered

ROOT = Path(__file__).resolve().parents[3]


def leaves(node, path=()):
    """Every (path, value) of a JSON document's scalar leaves."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path, node


def changed(value):
    """A different value of the same JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("X" if value[-1:] != "X" else "Y") if value else "X"
    return "changed"


def with_leaf(document: dict, path: tuple, value) -> dict:
    copied = copy.deepcopy(document)
    node = copied
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copied


def test_a_real_credential_with_its_keys_reordered_verifies_with_or_without_what_was_signed_kept(
    client, issue, runtime
):
    record = issue()
    document = client.get(f"/credentials/{record['_id']}").get_json()
    handed_back = reordered(document)
    assert list(handed_back) != list(document)
    assert client.post("/verify", json=handed_back).get_json()["verified"] is True
    # As for a credential issued before the signed bytes were kept: canonicalised in full, and as genuine.
    forgotten = runtime.db["credential_documents"].update_one({"_id": record["_id"]}, {"$unset": {"signed": ""}})
    assert forgotten.modified_count == 1
    assert client.post("/verify", json=reordered(handed_back)).get_json()["verified"] is True
    forged = with_leaf(handed_back, ("credentialSubject", "creditsEarned"), 9)
    assert client.post("/verify", json=forged).get_json()["verified"] is False


def test_changing_any_single_field_of_a_real_credential_fails_verification(client, issue, runtime):
    document = client.get(f"/credentials/{issue()['_id']}").get_json()
    assert verifying.verify_presented(runtime, document)["verified"] is True
    paths = list(leaves(document))
    assert len(paths) > 60
    still_verified = [
        path
        for path, value in paths
        if verifying.verify_presented(runtime, with_leaf(document, path, changed(value)))["verified"]
    ]
    assert still_verified == []


def test_adding_or_removing_a_field_fails_verification(client, issue):
    document = client.get(f"/credentials/{issue()['_id']}").get_json()
    added = copy.deepcopy(document)
    added["credentialSubject"]["grade"] = "A+"
    removed = copy.deepcopy(document)
    del removed["credentialSubject"]["creditsEarned"]
    for forged in (added, removed):
        answer = client.post("/verify", json=forged).get_json()
        assert answer["verified"] is False


def test_the_verify_answer_reports_each_check_by_name(client, issue):
    document = client.get(f"/credentials/{issue()['_id']}").get_json()
    answer = client.post("/verify", json=document).get_json()
    assert answer["verified"] is True
    assert [check["name"] for check in answer["checks"]] == [
        "well_formed",
        "issuer_key",
        "signature",
        "status",
        "validity_window",
    ]
    assert all(check["passed"] and check["message"] for check in answer["checks"])


def test_a_batch_answers_in_order_with_a_clear_message_for_unknown_ids(client, issue, as_role):
    first, second = issue(), issue()
    forged = client.get(f"/credentials/{second['_id']}").get_json()
    forged["credentialSubject"]["creditsEarned"] = 9
    items = [
        {"id": first["credential_id"]},
        {"credential": forged},
        {"id": "urn:uuid:00000000-0000-4000-8000-000000000000"},
        {"id": second["_id"]},
        {"id": "not-a-uuid"},
    ]
    response = client.post("/verify/batch", json={"items": items}, headers=as_role("university"))
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["verified"] for r in results] == [True, False, False, True, False]
    assert "no credential with id urn:uuid:00000000" in results[2]["checks"][0]["message"]


def test_a_batch_of_500_inline_credentials_is_accepted(client, issue, as_role):
    document = client.get(f"/credentials/{issue()['_id']}").get_json()
    items = [{"credential": document}] * 500
    response = client.post("/verify/batch", json={"items": items}, headers=as_role("university"))
    assert response.status_code == 200
    assert all(result["verified"] for result in response.get_json()["results"])


def test_the_verification_page_shows_a_valid_credential_to_people(client, issue):
    record = issue(student={"id": "s-9", "name": "<b>Asha</b> Rao", "email": "asha@example.org"})
    response = client.get(f"/verify/{record['_id']}", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Verified" in html and "Acme Analytics" in html and "1.5" in html
    assert "&lt;b&gt;Asha&lt;/b&gt; Rao" in html and "<b>Asha</b>" not in html
    assert f"/credentials/{record['_id']}/pdf" in html


def test_the_verification_page_answers_json_when_asked(client, issue):
    record = issue()
    response = client.get(f"/verify/{record['_id']}", headers={"Accept": "application/json"})
    body = response.get_json()
    assert body["verified"] is True and body["state"] == "valid"
    assert body["student_name"] == "Asha Rao" and body["hours"] == "45" and body["credits"] == "1.5"


def test_an_unknown_credential_is_a_404_page_or_error(client):
    missing = "00000000-0000-4000-8000-000000000000"
    page = client.get(f"/verify/{missing}", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "No credential with this id" in page.get_data(as_text=True)
    as_json = client.get(f"/verify/{missing}", headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.get_json()["error"]["code"] == "credential_not_found"
    assert client.get("/verify/not-a-uuid", headers={"Accept": "text/html"}).status_code == 404


def test_the_certificate_pdf_is_public(client, issue):
    record = issue()
    response = client.get(f"/credentials/{record['_id']}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    if shutil.which("pdftotext"):  # poppler-utils: read the certificate as a person would
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
        ).stdout.decode()
        assert "Asha Rao" in text and "Acme Analytics" in text and "Credits recommended: 1.5" in text
        assert f"http://verify.stint.test/verify/{record['_id']}" in text


@pytest.fixture
def served_app(cert_settings):
    """The app on a real socket (werkzeug), for a browser."""
    server = make_server("127.0.0.1", 0, create_app(cert_settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=5)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_the_verification_page_renders_in_headless_chromium(served_app, runtime, tmp_path):
    """Set STINT_UPDATE_SCREENSHOTS=1 to refresh docs/verification-page.png from this run."""
    from tests.integration.certification.conftest import approved_event

    event = approved_event()
    issuing.issue_credential(runtime, read_event(event))
    record = runtime.db["credentials"].find_one({"application_id": event["data"]["application_id"]})
    url = f"http://127.0.0.1:{served_app.server_port}/verify/{record['_id']}"
    screenshot = tmp_path / "verification-page.png"
    with tempfile.TemporaryDirectory() as profile:
        completed = subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={screenshot}",
                "--window-size=1200,1400",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Verified: this credential is genuine" in completed.stdout
    assert screenshot.exists() and screenshot.stat().st_size > 10_000
    if os.environ.get("STINT_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(screenshot, ROOT / "docs" / "verification-page.png")
