"""Email bodies (plain text and HTML) rendered from the Jinja2 templates beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# HTML is autoescaped (names and feedback are user text); plain text is not.
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Email:
    """A rendered email, ready to queue."""

    subject: str
    text: str
    html: str


def render_email(template: str, subject: str, summary: str, link: str, greeting_name: str, context: dict) -> Email:
    """Render `templates/email/<template>.txt` and `.html` with the message context."""
    values = {**context, "subject": subject, "summary": summary, "link": link, "greeting_name": greeting_name}
    return Email(
        subject=subject,
        text=_ENV.get_template(f"email/{template}.txt").render(values),
        html=_ENV.get_template(f"email/{template}.html").render(values),
    )


def template_names() -> set[str]:
    """The email templates that exist (each should have both a .txt and an .html part)."""
    return {path.stem for path in (TEMPLATE_DIR / "email").glob("*.txt") if not path.stem.startswith("_")}
