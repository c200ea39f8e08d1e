"""Mobile numbers: the one rule for what a mobile is and how it is stored (E.164).

The registry import and the board's user accounts both call `normalize_mobile`, so a
number typed on the board matches the same person's number from the spreadsheet.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

__all__ = ["MobileError", "normalize_mobile"]

_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


class MobileError(ValueError):
    """Not a mobile number an SMS can reach; the reason in Chinese and English."""

    def __init__(self, reason_zh: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_zh = reason_zh
        self.reason_en = reason_en


@lru_cache(maxsize=65536)
def normalize_mobile(text: str) -> str:
    """A mobile number in E.164 (`138 0013 8000` -> `+8613800138000`); region CN unless the
    number says otherwise. Full-width digits are read as digits; a valid number that cannot
    receive SMS (a landline) is refused."""
    normalised = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip()
    return _mainland_mobile(normalised) or _parsed_mobile(normalised)


def _parsed_mobile(normalised: str) -> str:
    """The rule itself, by phonenumbers."""
    try:
        number = phonenumbers.parse(normalised, "CN")
    except phonenumbers.NumberParseException:
        raise MobileError("不是电话号码", "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise MobileError("无效的手机号码", "invalid phone number")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise MobileError("不是手机号码(短信无法送达)", "not a mobile number (SMS cannot reach it)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# The fast path for what a registry mostly holds: an 11-digit mainland mobile, grouped by
# spaces or dashes, perhaps after +86. It reads phonenumbers' own CN metadata and answers
# only when phonenumbers would certainly say MOBILE (or FIXED_LINE_OR_MOBILE): the digits
# match the general and the mobile patterns, none of the types phonenumbers checks before
# mobile, and no national prefix phonenumbers might strip. Anything else (and every
# refusal) goes to `_parsed_mobile`; tests/domain/test_phones.py compares the two paths.
_MAINLAND = re.compile(r"(?:\+86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})", re.ASCII)
_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")


def _pattern(desc) -> re.Pattern[str] | None:
    if desc is None or desc.national_number_pattern is None:
        return None
    return re.compile(f"(?:{desc.national_number_pattern})", re.ASCII)


def _possible(desc) -> bool:
    """Whether 11 digits are a possible length for `desc` (as phonenumbers checks it)."""
    return desc is not None and (not desc.possible_length or 11 in desc.possible_length)


_GENERAL, _MOBILE = _pattern(_CN.general_desc), _pattern(_CN.mobile)
_CHECKED_BEFORE_MOBILE = [
    pattern for pattern in (
        _pattern(getattr(_CN, name)) for name in (
            "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
        )
    ) if pattern is not None
]
_NATIONAL_PREFIX = re.compile(_CN.national_prefix_for_parsing or "$^", re.ASCII)


def _mainland_mobile(normalised: str) -> str | None:
    """`_parsed_mobile`'s answer for a plain mainland mobile, or None: not sure, ask it."""
    match = _MAINLAND.fullmatch(normalised)
    if match is None:
        return None
    digits = "".join(match.groups())
    if (_NATIONAL_PREFIX.match(digits) or _GENERAL is None or _MOBILE is None
            or not (_possible(_CN.general_desc) and _possible(_CN.mobile))
            or not _GENERAL.fullmatch(digits) or not _MOBILE.fullmatch(digits)
            or any(pattern.fullmatch(digits) for pattern in _CHECKED_BEFORE_MOBILE)):
        return None
    return "+86" + digits
