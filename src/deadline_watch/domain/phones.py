"""Mobile numbers: the one rule for what a mobile is and how it is stored (E.164).

The registry import and the board's user accounts both call `normalize_mobile`, so a
number typed on the board matches the same person's number from the spreadsheet.
"""

from __future__ import annotations

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
    normalised = unicodedata.normalize("NFKC", text).strip()
    try:
        number = phonenumbers.parse(normalised, "CN")
    except phonenumbers.NumberParseException:
        raise MobileError("不是电话号码", "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise MobileError("无效的手机号码", "invalid phone number")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise MobileError("不是手机号码(短信无法送达)", "not a mobile number (SMS cannot reach it)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

