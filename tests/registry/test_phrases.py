"""The deadline-phrase grammar of a 责任分解表: each phrase and what it means, or a clear refusal."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deadline_watch.domain.recurrence import Recurrence
from deadline_watch.registry.phrases import (
    Fixed,
    PhraseError,
    Recurring,
    Standing,
    describe,
    interpret,
    year_in_title,
)

FIXED = [
    ("2027年6月15日", None, date(2027, 6, 15)),
    ("2027年6月15日前", None, date(2027, 6, 15)),
    ("2027-06-15", None, date(2027, 6, 15)),
    ("2027/6/15前", None, date(2027, 6, 15)),
    ("2027年6月底前", None, date(2027, 6, 30)),
    ("2027年2月底", None, date(2027, 2, 28)),
    ("2028年2月底前", None, date(2028, 2, 29)),
    ("3月15日前", 2027, date(2027, 3, 15)),
    ("３月１５日前", 2027, date(2027, 3, 15)),  # full-width digits
    ("6月底前", 2027, date(2027, 6, 30)),
    ("6月末", 2027, date(2027, 6, 30)),
    ("十二月底前", 2027, date(2027, 12, 31)),
    ("9月", 2027, date(2027, 9, 30)),
    ("5月上旬", 2027, date(2027, 5, 10)),
    ("5月中旬前", 2027, date(2027, 5, 20)),
    ("5月下旬", 2027, date(2027, 5, 31)),
    ("年底前", 2027, date(2027, 12, 31)),
    ("年内", 2027, date(2027, 12, 31)),
    ("2027年底前", None, date(2027, 12, 31)),
    ("一季度末", 2027, date(2027, 3, 31)),
    ("二季度末前", 2027, date(2027, 6, 30)),
    ("第三季度", 2027, date(2027, 9, 30)),
    ("四季度末", 2027, date(2027, 12, 31)),
    ("2027年第1季度", None, date(2027, 3, 31)),
    ("上半年", 2027, date(2027, 6, 30)),
    ("下半年", 2027, date(2027, 12, 31)),
    ("2027年上半年前", None, date(2027, 6, 30)),
    ("2027年", None, date(2027, 12, 31)),
    ("2027年度", None, date(2027, 12, 31)),
    (" 6 月底前 ", 2027, date(2027, 6, 30)),
]


@pytest.mark.parametrize(("phrase", "year", "due"), FIXED)
def test_fixed_phrase_means_the_documented_date(phrase, year, due):
    assert interpret(phrase, year=year) == Fixed(due)


def test_a_year_in_the_phrase_wins_over_the_year_given():
    assert interpret("2028年6月底前", year=2027) == Fixed(date(2028, 6, 30))


RECURRING = [
    ("每月25日前", Recurrence("monthly", 25)),
    ("每月5号", Recurrence("monthly", 5)),
    ("每月底前", Recurrence("monthly")),
    ("每月末", Recurrence("monthly")),
    ("每季度末", Recurrence("quarterly")),
    ("每个季度", Recurrence("quarterly")),
    ("每半年", Recurrence("half_yearly")),
    ("每年底前", Recurrence("yearly")),
    ("每周五前", Recurrence("weekly", 5)),
    ("每周一", Recurrence("weekly", 1)),
    ("每周日前", Recurrence("weekly", 7)),
]


@pytest.mark.parametrize(("phrase", "recurrence"), RECURRING)
def test_recurring_phrase_means_its_rule(phrase, recurrence):
    assert interpret(phrase, year=None) == Recurring(recurrence)
    assert Recurrence.parse(recurrence.rule) == recurrence
    # the canonical wording export writes reads back as the same rule
    assert interpret(recurrence.phrase, year=None) == Recurring(recurrence)


@pytest.mark.parametrize("phrase", ["长期坚持", "持续推进", "常态化", "长期"])
def test_standing_phrase_has_no_deadline(phrase):
    assert interpret(phrase, year=None) == Standing()
    assert describe(Standing()).startswith("长期")


@pytest.mark.parametrize(("phrase", "fragment"), [
    ("6月底前", "没有年份"),  # no year anywhere
    ("6月前", "有歧义"),  # before June, or by its end? never guessed
    ("尽快", "无法识别"),
    ("2027年2月30日", "不是有效日期"),
    ("13月底前", "月份不存在"),
    ("1999年底前", "超出范围"),
    ("每月32日前", "无法识别"),
    ("每两周", "无法识别"),
    ("", "为空"),
])
def test_phrase_outside_the_grammar_is_refused_with_a_reason(phrase, fragment):
    with pytest.raises(PhraseError) as caught:
        interpret(phrase, year=None)
    assert fragment in caught.value.reason_zh
    assert caught.value.reason_en


@pytest.mark.parametrize(("title", "year"), [
    ("2027年重点工作责任分解表", 2027),
    ("２０２７年 重点任务", 2027),
    ("重点工作责任分解表", None),
    ("2026年至2027年重点工作", None),  # two years: not one to take
])
def test_title_row_year(title, year):
    assert year_in_title(title) == year


@given(st.text(max_size=30), st.one_of(st.none(), st.integers(min_value=1900, max_value=2200)))
def test_any_phrase_is_interpreted_or_refused_never_a_crash(phrase, year):
    try:
        reading = interpret(phrase, year=year)
    except PhraseError as exc:
        assert exc.reason_zh and exc.reason_en
        return
    assert isinstance(reading, (Fixed, Recurring, Standing))
    if isinstance(reading, Fixed):
        assert 2000 <= reading.due.year <= 2100
