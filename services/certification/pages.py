"""What people see: the verification page (HTML, autoescaped) and the printable certificate (PDF)."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
from jinja2 import Environment, FileSystemLoader, select_autoescape
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"], default=True),
)
CHECK_LABELS = {
    "well_formed": "Well-formed",
    "issuer_key": "Issuer key",
    "signature": "Signature",
    "status": "Not revoked",
    "validity_window": "Validity window",
    "found": "Issued by Stint",
}


def _day(value: str) -> str:
    return str(value)[:10]


def student_name(subject: dict) -> str:
    """The student's name: an OB 3.0 identifier of type "name" (stint-v1 credentials had a plain `name`)."""
    for identity in subject.get("identifier") or []:
        if isinstance(identity, dict) and identity.get("identityType") == "name" and not identity.get("hashed"):
            return str(identity.get("identityHash", ""))
    return str(subject.get("name", ""))


def summary(record: dict, result: dict, document: dict, public_url: str) -> dict:
    """Everything the page, the PDF and GET /verify/{id} (JSON) say about a credential."""
    subject = document.get("credentialSubject", {})
    achievement = subject.get("achievement", {})
    key_revoked = any(check["name"] == "issuer_key" and "revoked" in check["message"] for check in result["checks"])
    state, headline = _state(record, result, key_revoked)
    credential_uuid = record["_id"]
    successor, predecessor = record.get("superseded_by"), record.get("reissue_of")
    return {
        "state": state,
        "headline": headline,
        "verified": result["verified"],
        "credential_id": record["credential_id"],
        "title": document.get("name", ""),
        "description": document.get("description", ""),
        "student_name": student_name(subject),
        "achievement": achievement.get("name", ""),
        "achievement_type": achievement.get("achievementType", ""),
        "employer": record.get("org_name", ""),
        "hours": f"{record['hours']:g}",
        "credits": f"{record['credits_recommended']:g}",
        "activity": f"{_day(record['started_on'])} to {_day(record['completed_on'])}",
        "issued": f"{record['issued_at']:%Y-%m-%d}",
        "issuer_name": document.get("issuer", {}).get("name", "Stint"),
        "issuer_id": document.get("issuer", {}).get("id", ""),
        "revoked_at": f"{record['revoked_at']:%Y-%m-%d}" if record.get("revoked_at") else None,
        "revocation_reason": record.get("revocation_reason"),
        "checks": [{**check, "label": CHECK_LABELS.get(check["name"], check["name"])} for check in result["checks"]],
        "json_url": f"{public_url}/credentials/{credential_uuid}",
        "pdf_url": f"{public_url}/credentials/{credential_uuid}/pdf",
        "verification_url": f"{public_url}/verify/{credential_uuid}",
        "key_revoked": key_revoked,
        "successor_url": f"{public_url}/verify/{successor}" if successor else None,
        "predecessor_url": f"{public_url}/verify/{predecessor}" if predecessor else None,
    }


def _state(record: dict, result: dict, key_revoked: bool) -> tuple[str, str]:
    """The page's banner: what a reader should conclude, in one sentence."""
    if record.get("superseded_by"):
        return "reissued", (
            "This credential was replaced: Stint re-issued it under a new key after the key that signed it was "
            "revoked. The achievement stands; follow the link to the current credential."
        )
    if record.get("revoked"):
        return "revoked", "This credential has been revoked by Stint."
    if result["verified"]:
        return "valid", "Verified: this credential is genuine, unaltered and not revoked."
    if key_revoked:
        return "invalid", (
            "This credential was signed with a key Stint revoked as compromised, so it can no longer be trusted; "
            "the student is being sent a re-issued credential."
        )
    return "invalid", "This credential could not be verified."


def verification_page(context: dict) -> str:
    """The HTML verification page."""
    return TEMPLATES.get_template("verify.html").render(**context)


def skill_page(skill: dict) -> str:
    """The HTML page of a skill that credentials align to."""
    return TEMPLATES.get_template("skill.html").render(**skill)


def unknown_page(credential_id: str) -> str:
    """The HTML page for an id Stint never issued."""
    return TEMPLATES.get_template("verify.html").render(
        state="unknown", title="Unknown credential", credential_id=credential_id
    )


def _draw_qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """A QR code drawn as vector squares (crisp at any print size)."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    cell = size / len(matrix)
    canvas.setFillColor(HexColor("#ffffff"))
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(HexColor("#000000"))
    for row, line in enumerate(matrix):
        for column, dark in enumerate(line):
            if dark:
                canvas.rect(x + column * cell, y + size - (row + 1) * cell, cell, cell, stroke=0, fill=1)


def certificate_pdf(context: dict) -> bytes:
    """A printable A4 certificate with a QR code to the verification page."""
    buffer = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"{context['title']} — {context['student_name']}")
    canvas.setStrokeColor(HexColor("#1d2433"))
    canvas.setLineWidth(3)
    canvas.rect(28, 28, width - 56, height - 56)
    canvas.setFillColor(HexColor("#5b6478"))
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawCentredString(width / 2, height - 80, "STINT · CERTIFICATE OF FIELDWORK")
    canvas.setFillColor(HexColor("#1d2433"))
    canvas.setFont("Helvetica", 14)
    canvas.drawCentredString(width / 2, height - 130, "This certifies that")
    canvas.setFont("Helvetica-Bold", 30)
    canvas.drawCentredString(width / 2, height - 175, context["student_name"][:60])
    canvas.setFont("Helvetica", 14)
    canvas.drawCentredString(width / 2, height - 210, "completed, to the employer's approval, the micro-internship")
    canvas.setFont("Helvetica-Bold", 20)
    canvas.drawCentredString(width / 2, height - 245, context["achievement"][:70])
    canvas.setFont("Helvetica", 13)
    lines = [
        f"Employer: {context['employer']}",
        f"Hours verified: {context['hours']}    Credits recommended: {context['credits']}",
        f"Activity: {context['activity']}    Issued: {context['issued']}",
        f"Issuer: {context['issuer_name']} ({context['issuer_id']})",
        f"Credential: {context['credential_id']}",
    ]
    for number, line in enumerate(lines):
        canvas.drawString(70, height - 310 - number * 22, line[:95])
    qr_size = 150
    _draw_qr(canvas, context["verification_url"], width - 70 - qr_size, 70, qr_size)
    canvas.setFont("Helvetica", 10)
    canvas.drawRightString(width - 70, 56, "Scan to verify: " + context["verification_url"])
    stamp = {"revoked": "REVOKED", "reissued": "REPLACED: SEE THE RE-ISSUED CREDENTIAL"}.get(context["state"])
    if stamp:
        canvas.setFillColor(HexColor("#b42318"))
        canvas.setFont("Helvetica-Bold", 40 if context["state"] == "revoked" else 22)
        canvas.drawCentredString(width / 2, 100, stamp)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def portfolio_page(portfolio: dict) -> str:
    """The HTML page of a published portfolio, with link-preview (Open Graph, Twitter) tags."""
    return TEMPLATES.get_template("portfolio.html").render(found=True, **portfolio)


def no_portfolio_page() -> str:
    """The HTML page for a handle with no published portfolio (unknown or not published: the same page)."""
    return TEMPLATES.get_template("portfolio.html").render(found=False)
