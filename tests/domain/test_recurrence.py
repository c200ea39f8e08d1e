"""Recurring deadlines: due dates and names of occurrences, and how far ahead they are made."""

from __future__ import annotations

from datetime import date

import pytest

from deadline_watch.domain.recurrence import Recurrence, RecurrenceError, is_recurring, is_standing, series_label


def test_monthly_day_is_clamped_to_short_months():
    rule = Recurrence("monthly", 31)
    dues = rule.occurrences(start=date(2027, 1, 1), today=date(2027, 4, 1), ahead=1)
    assert dues == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_only_the_next_occurrence_after_today_is_made_ahead():
    rule = Recurrence("monthly", 25)
    assert rule.occurrences(start=date(2027, 3, 10), today=date(2027, 3, 10)) == [date(2027, 3, 25)]
    # on the 26th the March one is past: April is the next
    assert rule.occurrences(start=date(2027, 3, 26), today=date(2027, 3, 26)) == [date(2027, 4, 25)]
    assert rule.occurrences(start=date(2027, 3, 10), today=date(2027, 3, 10), ahead=3) == [
        date(2027, 3, 25), date(2027, 4, 25), date(2027, 5, 25)]


@pytest.mark.parametrize(("rule", "day", "due", "label"), [
    (Recurrence("monthly", 25), date(2027, 1, 3), date(2027, 1, 25), "2027年01月"),
    (Recurrence("monthly"), date(2027, 2, 3), date(2027, 2, 28), "2027年02月"),
    (Recurrence("quarterly"), date(2027, 5, 3), date(2027, 6, 30), "2027年第2季度"),
    (Recurrence("half_yearly"), date(2027, 8, 3), date(2027, 12, 31), "2027年下半年"),
    (Recurrence("yearly"), date(2027, 8, 3), date(2027, 12, 31), "2027年"),
    (Recurrence("weekly", 5), date(2027, 1, 4), date(2027, 1, 8), "2027年第01周"),
])
def test_occurrence_due_date_and_name(rule, day, due, label):
    assert rule.occurrences(start=day, today=day)[0] == due
    assert rule.label(due) == label


def test_a_year_of_monthly_occurrences_has_twelve_distinct_names():
    rule = Recurrence("monthly", 25)
    dues = rule.occurrences(start=date(2027, 1, 1), today=date(2027, 12, 1))
    assert len(dues) == 12
    assert len({rule.label(due) for due in dues}) == 12


def test_until_stops_the_series():
    rule = Recurrence("quarterly")
    assert rule.occurrences(start=date(2027, 1, 1), today=date(2028, 6, 1), until=date(2027, 12, 31)) == [
        date(2027, 3, 31), date(2027, 6, 30), date(2027, 9, 30), date(2027, 12, 31)]


@pytest.mark.parametrize("rule", ["monthly:0", "monthly:32", "weekly:8", "weekly", "daily", "quarterly:3", ""])
def test_bad_rule_is_refused(rule):
    with pytest.raises(RecurrenceError):
        Recurrence.parse(rule)


def test_only_rules_count_as_recurring():
    assert is_recurring("monthly:25") and is_recurring("quarterly")
    assert not is_recurring("") and not is_recurring("standing")


@pytest.mark.parametrize(
    ("schedule", "standing", "label"),
    [
        ("", False, ""),
        ("standing", True, "长期"),
        ("monthly:25", False, "每月25日前"),
        ("monthly:last", False, "每月底前"),
        ("quarterly", False, "每季度末"),
        ("weekly:5", False, "每周五前"),
        ("fortnightly", False, ""),  # not a rule this version knows: no label, not standing
    ],
)
def test_what_the_board_shows_for_a_schedule(schedule, standing, label):
    assert is_standing(schedule) is standing
    assert series_label(schedule) == label
