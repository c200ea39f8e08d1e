"""What counts as English on a Chinese page: ASCII words outside an allow-list.

Allowed: project codes (GX-2026-001), numbers, dates and times, masked or full mobiles,
units of measure, and the names of file formats a download button offers.
"""

from __future__ import annotations

import html
import re

ALLOWED_WORDS = {"Excel", "CSV", "Word"}
CODE = re.compile(r"\b[A-Z]{1,6}(?:-[A-Z0-9]+)+\b")  # GX-2026-001, GX-T-00012
WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(text: str) -> list[str]:
    """ASCII words in `text` that are not codes or allowed names."""
    text = CODE.sub(" ", text)
    return sorted({word for word in WORD.findall(text) if word not in ALLOWED_WORDS})


def visible_text(page_html: str) -> str:
    """The text a reader sees: no tags, scripts, styles or attribute values."""
    body = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page_html)
    body = re.sub(r"(?s)<[^>]+>", " ", body)
    return html.unescape(body)
