"""How many SMS segments a text costs: GSM-7 160/153 characters, UCS-2 70/67 code units.

Any character outside the GSM 03.38 alphabet (every Chinese character) switches the
whole message to UCS-2. Extension-table characters (€ [ ] { } ...) cost two GSM septets.
"""

from __future__ import annotations

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)
_GSM7 = _BASIC | _EXTENSION


def is_gsm7(text: str) -> bool:
    # a set's issuperset walks the text in C and stops at the first other character
    # (the scan counts 10,000 texts, issue 17)
    return _GSM7.issuperset(text)


def _units(text: str) -> tuple[int, int, int]:
    """(length in encoding units, single-segment limit, per-segment limit when split)."""
    if is_gsm7(text):
        return len(text) + sum(map(_EXTENSION.__contains__, text)), 160, 153
    # UTF-16 code units: characters outside the BMP take two
    return len(text.encode("utf-16-le")) // 2, 70, 67


def count_segments(text: str) -> int:
    """Segments needed to send `text` (0 for an empty text)."""
    length, single, multi = _units(text)
    if length == 0:
        return 0
    if length <= single:
        return 1
    return -(-length // multi)


def max_length(segments: int, *, gsm7: bool) -> int:
    """The most encoding units that fit in `segments` segments."""
    single, multi = (160, 153) if gsm7 else (70, 67)
    return single if segments <= 1 else multi * segments
