"""Reading the web's pages as a person does: the visible text, and the CSRF token of a page's form."""

from __future__ import annotations

import re
from html import unescape


def text_of(html: str) -> str:
    """What a person reads on a page: the text without tags, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
