"""Deadline phrases of a 责任分解表 (完成时限), interpreted by a documented grammar, never guessed.

    interpret("6月底前", year=2027)   -> Fixed(date(2027, 6, 30))
    interpret("每月25日前", year=2027) -> Recurring(Recurrence("monthly", 25))
    interpret("长期坚持", year=None)   -> Standing()

The grammar (docs/registry.md has the table): a calendar date; `M月D日`; `M月底`/`M月末`;
`M月上旬/中旬/下旬`; `M月` (the month's last day); `年底`/`年内`/`年末`; `一季度末`..`四季度末`,
`第一季度`..; `上半年`/`下半年`; `YYYY年` alone — each optionally with a leading `YYYY年` and
a trailing 前/以前/之前/完成; recurring `每月D日`, `每月底`, `每季度(末)`, `每半年`, `每年(底)`,
`每周X`; standing `长期坚持`, `持续推进`, `常态化`, `长期`. A phrase without a year takes it
from the caller (`--year` or a title row); anything else raises PhraseError.
"""

from __future__ import annotations

import calendar as std_calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from deadline_watch.domain.recurrence import WEEKDAY_NAMES, Recurrence

MIN_YEAR, MAX_YEAR = 2000, 2100


class PhraseError(ValueError):
    def __init__(self, reason_zh: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_zh = reason_zh
        self.reason_en = reason_en


@dataclass(frozen=True)
class Fixed:
    due: date


@dataclass(frozen=True)
class Recurring:
    recurrence: Recurrence


@dataclass(frozen=True)
class Standing:
    pass


Interpretation = Fixed | Recurring | Standing

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
              "十一": 11, "十二": 12, "1": 1, "2": 2, "3": 3, "4": 4}
_STANDING = {"长期坚持", "持续推进", "常态化", "常态化推进", "长期", "持续开展", "长期推进"}
_SUFFIX = re.compile(r"(?:前完成|以前|之前|前|完成|止)$")
_YEAR_PREFIX = re.compile(r"^(\d{4})年(?:度)?")
_TITLE_YEAR = re.compile(r"(\d{4})\s*年")

_MONTH = r"(\d{1,2}|十[一二]?|[一二三四五六七八九])"
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), "ymd"),
    (re.compile(rf"^{_MONTH}月(\d{{1,2}})日$"), "md"),
    (re.compile(rf"^{_MONTH}月(?:底|末|份)?$"), "month_end"),
    (re.compile(rf"^{_MONTH}月(上|中|下)旬$"), "dekad"),
    (re.compile(r"^(?:年?底|年?内|年?末|全年|本年度|年度内)$"), "year_end"),
    (re.compile(r"^第?([一二三四1-4])季度(?:末|底)?$"), "quarter"),
    (re.compile(r"^(上|下)半年(?:末|底)?$"), "half"),
    (re.compile(r"^$"), "year_only"),
]
_RECURRING: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^每月(\d{1,2})[日号]$"), "monthly_day"),
    (re.compile(r"^每月(?:底|末)$"), "monthly_last"),
    (re.compile(r"^每(?:个)?季度(?:末|底)?$"), "quarterly"),
    (re.compile(r"^每半年(?:末|底)?$"), "half_yearly"),
    (re.compile(r"^每年(?:底|末)?$"), "yearly"),
    (re.compile(rf"^每周([{WEEKDAY_NAMES}天1-7])$"), "weekly"),
]


def normalise(phrase: str) -> str:
    """Full-width digits and letters folded (NFKC), spaces removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", phrase))


def year_in_title(text: str) -> int | None:
    """The year a title row names ("2027年重点工作责任分解表" -> 2027), if exactly one."""
    years = {int(found) for found in _TITLE_YEAR.findall(normalise(text))}
    if len(years) == 1:
        year = years.pop()
        if MIN_YEAR <= year <= MAX_YEAR:
            return year
    return None


def interpret(phrase: str, *, year: int | None) -> Interpretation:
    text = normalise(phrase)
    if not text:
        raise PhraseError("完成时限为空", "the deadline is empty")
    if text in _STANDING:
        return Standing()
    if text.startswith("每"):
        return Recurring(_recurring(_SUFFIX.sub("", text), phrase))
    if text.endswith("月前") and not text.endswith("底前"):
        raise PhraseError(
            f"“{phrase}”有歧义: 请写“{text[:-1]}底前”或具体日期",
            f"{phrase!r} is ambiguous: write the month's end (…月底前) or a date",
        )
    body = _SUFFIX.sub("", text)
    prefix = _YEAR_PREFIX.match(body)
    if prefix:
        year = int(prefix.group(1))
        body = body[prefix.end():]
    for pattern, kind in _RULES:
        found = pattern.match(body)
        if found is None:
            continue
        if kind == "ymd":
            year = int(found.group(1))
            _check_year(year, phrase)
            return Fixed(_date(year, int(found.group(2)), int(found.group(3)), phrase))
        if year is None:
            _fixed(kind, found, 2000, phrase)  # a bad month or day is the better message (2000: leap)
            raise PhraseError(
                f"“{phrase}”没有年份: 请用 --year 指定,或在表头上方的标题中写明年份",
                f"{phrase!r} has no year: give --year or name the year in a title row above the header",
            )
        _check_year(year, phrase)
        return Fixed(_fixed(kind, found, year, phrase))
    raise PhraseError(
        f"无法识别的完成时限“{phrase}”(支持的写法见 docs/registry.md)",
        f"unrecognised deadline {phrase!r} (see docs/registry.md for the phrases understood)",
    )


def _fixed(kind: str, found: re.Match[str], year: int, phrase: str) -> date:
    if kind == "md":
        return _date(year, _month(found.group(1), phrase), int(found.group(2)), phrase)
    if kind == "month_end":
        return _month_end(year, _month(found.group(1), phrase))
    if kind == "dekad":
        month = _month(found.group(1), phrase)
        return {"上": date(year, month, 10), "中": date(year, month, 20)}.get(found.group(2)) or _month_end(year, month)
    if kind == "quarter":
        return _month_end(year, _CN_DIGITS[found.group(1)] * 3)
    if kind == "half":
        return _month_end(year, 6 if found.group(1) == "上" else 12)
    return date(year, 12, 31)  # year_end, year_only


def _recurring(text: str, phrase: str) -> Recurrence:
    for pattern, kind in _RECURRING:
        found = pattern.match(text)
        if found is None:
            continue
        if kind == "monthly_day":
            day = int(found.group(1))
            if not 1 <= day <= 31:
                break
            return Recurrence("monthly", day)
        if kind == "monthly_last":
            return Recurrence("monthly")
        if kind == "weekly":
            mark = found.group(1)
            day = int(mark) if mark.isdigit() else (7 if mark == "天" else WEEKDAY_NAMES.index(mark) + 1)
            return Recurrence("weekly", day)
        return Recurrence(kind)
    raise PhraseError(
        f"无法识别的周期性时限“{phrase}”(支持: 每月D日前、每月底、每季度末、每半年、每年底、每周X前)",
        f"unrecognised recurring deadline {phrase!r}",
    )


def _month(text: str, phrase: str) -> int:
    month = int(text) if text.isdigit() else _CN_DIGITS.get(text, 0)
    if not 1 <= month <= 12:
        raise PhraseError(f"“{phrase}”中的月份不存在", f"{phrase!r}: no such month")
    return month


def _month_end(year: int, month: int) -> date:
    return date(year, month, std_calendar.monthrange(year, month)[1])


def _date(year: int, month: int, day: int, phrase: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise PhraseError(f"“{phrase}”不是有效日期", f"{phrase!r} is not a valid date") from None


def _check_year(year: int, phrase: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PhraseError(
            f"“{phrase}”的年份超出范围 ({MIN_YEAR}–{MAX_YEAR})",
            f"{phrase!r}: year outside {MIN_YEAR}-{MAX_YEAR}",
        )


def describe(interpretation: Interpretation) -> str:
    """How the dry run shows an interpretation ("2027-06-30", "每月25日前 (周期)", "长期")."""
    match interpretation:
        case Fixed(due):
            return due.isoformat()
        case Recurring(recurrence):
            return f"周期: {recurrence.phrase}"
        case Standing():
            return "长期 (不提醒、不督办)"
    raise AssertionError(interpretation)
