"""One cell at a time: trimming, dates, mobile numbers and unit lists.

Each parser takes the raw cell (a str from CSV, or whatever openpyxl gives) and
returns a clean value or raises `CellError` with a Chinese and an English reason.
Nothing here guesses: a date in an unknown style is an error, never a swapped day/month.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from functools import lru_cache

import phonenumbers

from deadline_watch.core.clock import EARLIEST, LATEST
from deadline_watch.domain.phones import MobileError, normalize_mobile

# Trimmed from both ends of every cell: Unicode whitespace (which covers U+3000 and
# U+00A0) plus the zero-width characters Excel and WPS leave behind.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


class CellError(ValueError):
    def __init__(self, reason_zh: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_zh = reason_zh
        self.reason_en = reason_en


def cell_text(value: object) -> str:
    """A cell as the admin would read it (before trimming), for error reports."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def clean_text(value: object) -> str:
    """The cell as text, trimmed of whitespace, full-width and non-breaking spaces."""
    if type(value) is str:  # the common case, kept quick: 13 cells x 100,000 rows
        text = value.strip()
        if not text or (text[0] not in _INVISIBLE and text[-1] not in _INVISIBLE):
            return text
    else:
        text = cell_text(value)
    # strip twice: invisible characters may sit outside or inside the whitespace
    return text.strip().strip(_INVISIBLE).strip()


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"\s+")


def clean_person_name(value: object) -> str:
    """Trim a name; spaces used to pad Chinese names ("张　三") are removed, runs of
    spaces in other names ("Li  Wei") become one."""
    return _person_name(clean_text(value))


@lru_cache(maxsize=65536)
def _person_name(text: str) -> str:
    if _CJK.search(text):
        return _SPACES.sub("", text)
    return _SPACES.sub(" ", text)


# ASCII digits only (full-width ones become ASCII under NFKC; Arabic-Indic and other
# scripts' digits are not dates of this registry)
_DATE_PATTERNS = (
    re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"),
    re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})"),
    re.compile(r"([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})"),
    re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日"),
)
# A midnight time of day, as a datetime exported to text carries it.
_MIDNIGHT = re.compile(r"(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?", re.ASCII)


def parse_date(value: object) -> date:
    """A date from a real date cell or text in one of the documented styles, within 2000-2100."""
    if type(value) is str:
        return _text_date(value)
    return _in_range(_any_date(value))


@lru_cache(maxsize=4096)
def _text_date(text: str) -> date:
    """`parse_date` of a text cell, cached by the raw text (a registry repeats its dates)."""
    return _in_range(_any_date(text))


def _in_range(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise CellError(f"日期超出 {EARLIEST.year}-{LATEST.year} 年范围", f"date outside {EARLIEST.year}-{LATEST.year}")
    return day


def _any_date(value: object) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise CellError(
                "日期单元格含有时间,请只填日期", "the date cell carries a time of day; enter a date only"
            )
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError(
            "是数字而不是日期: 请把单元格设为日期格式,或写成 2026-12-01",
            "a number, not a date: format the cell as a date or write 2026-12-01",
        )
    return _parse_date_text(clean_text(value))


@lru_cache(maxsize=4096)
def _parse_date_text(text: str) -> date:
    normalised = unicodedata.normalize("NFKC", text)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(normalised)
        if match and _MIDNIGHT.fullmatch(normalised, match.end()):
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise CellError(
                    "不存在的日期", "no such date (check the month and day)"
                ) from None
    raise CellError(
        "无法识别的日期: 请写成 2026-12-01、2026/12/1、2026.12.01 或 2026年12月1日",
        "unrecognised date: write 2026-12-01, 2026/12/1, 2026.12.01 or 2026年12月1日",
    )


def parse_mobile(value: object) -> str:
    """A mobile number normalised to E.164 (+8613800138000) by `domain.phones`."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return normalize_mobile(clean_text(value))
    except MobileError as error:
        raise CellError(error.reason_zh, error.reason_en) from None


def display_mobile(e164: str) -> str:
    """How export writes a mobile: '138 0013 8000' for China, international otherwise.
    The spaces keep Excel from turning the number into 1.38E+10."""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_UNIT_SEPARATORS = re.compile(r"[、，,;；]")
CO_UNIT_JOINER = "、"


def split_co_units(value: object) -> list[str]:
    """协办单位 split on 、 ， , ; ；, each trimmed, empties and repeats dropped."""
    seen: dict[str, None] = {}
    for part in _UNIT_SEPARATORS.split(clean_text(value)):
        name = clean_text(part)
        if name:
            seen.setdefault(name, None)
    return list(seen)


@lru_cache(maxsize=4096)
def _joined_co_units(text: str) -> str:
    return CO_UNIT_JOINER.join(split_co_units(text))


def co_units_text(value: object) -> str:
    """A 协办单位 cell as stored: its units joined with 、 (cached for text: the same few
    lists repeat on thousands of rows)."""
    return _joined_co_units(value) if isinstance(value, str) else CO_UNIT_JOINER.join(split_co_units(value))
