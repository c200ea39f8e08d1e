"""Calendar days vs Chinese working days, the 调休 Saturdays, the 2027 fallback, the send window."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from structlog.testing import capture_logs

from deadline_watch.domain import workdays as calendar
from deadline_watch.domain.workdays import days_left, fallback_years, is_workday, next_send_time, working_days_between
from watch_support import TZ, at

WINDOW = (time(8, 30), time(20, 0))


@pytest.fixture(autouse=True)
def _fresh_fallback():
    calendar._reset_fallback_for_tests()
    yield
    calendar._reset_fallback_for_tests()


def test_2026_spring_festival_days_are_not_working_days():
    for day in range(15, 24):
        assert not is_workday(date(2026, 2, day)), f"2026-02-{day} is a Spring Festival holiday"


def test_2026_tiaoxiu_saturdays_are_working_days():
    assert date(2026, 2, 14).weekday() == 5 and is_workday(date(2026, 2, 14))
    assert date(2026, 2, 28).weekday() == 5 and is_workday(date(2026, 2, 28))
    assert is_workday(date(2026, 2, 24))  # first day back


def test_working_days_across_the_spring_festival():
    # Friday 13th -> Tuesday 24th: the 14th (调休 Saturday) and the 24th work, 15th-23rd do not
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert days_left(date(2026, 2, 13), date(2026, 2, 24), "workdays") == 2
    assert days_left(date(2026, 2, 13), date(2026, 2, 24), "calendar") == 11


def test_calendar_mode_counts_every_day_and_zero_on_the_due_date():
    assert days_left(date(2026, 12, 1), date(2026, 12, 8), "calendar") == 7
    assert days_left(date(2026, 12, 8), date(2026, 12, 8), "calendar") == 0
    assert days_left(date(2026, 12, 8), date(2026, 12, 8), "workdays") == 0


def test_known_year_does_not_warn():
    with capture_logs() as logs:
        assert is_workday(date(2026, 12, 31))
    assert not [entry for entry in logs if entry["event"] == "calendar.fallback"]
    assert fallback_years() == []


def test_2027_falls_back_to_monday_to_friday_with_one_warning():
    with capture_logs() as logs:
        monday, saturday = date(2027, 1, 4), date(2027, 1, 9)
        assert is_workday(monday)
        assert not is_workday(saturday)
        for offset in range(60):
            is_workday(date(2027, 3, 1) + timedelta(days=offset))
    warnings = [entry for entry in logs if entry["event"] == "calendar.fallback"]
    assert len(warnings) == 1 and warnings[0]["year"] == 2027 and warnings[0]["log_level"] == "warning"
    assert fallback_years() == [2027]


def test_counting_across_new_year_2027_uses_data_then_fallback():
    # 2026-12-31 (Thu, known) -> 2027-01-04 (Mon, fallback): Fri 1st counted Mon-Fri, weekend not
    assert working_days_between(date(2026, 12, 31), date(2027, 1, 4)) == 2
    assert fallback_years() == [2027]


def test_inside_the_window_sends_now():
    now = at(date(2026, 12, 1), 9, 0)
    assert next_send_time(now, WINDOW, TZ) == now


def test_before_the_window_waits_for_its_opening_the_same_day():
    assert next_send_time(at(date(2026, 12, 1), 3, 0), WINDOW, TZ) == at(date(2026, 12, 1), 8, 30)


def test_at_the_closing_time_waits_for_the_next_day():
    assert next_send_time(at(date(2026, 12, 1), 20, 0), WINDOW, TZ) == at(date(2026, 12, 2), 8, 30)


def test_workdays_mode_waits_over_the_weekend():
    friday_night = at(date(2026, 12, 4), 21, 0)
    assert next_send_time(friday_night, WINDOW, TZ, "workdays") == at(date(2026, 12, 7), 8, 30)
    assert next_send_time(friday_night, WINDOW, TZ, "calendar") == at(date(2026, 12, 5), 8, 30)


def test_workdays_mode_waits_over_the_spring_festival_and_uses_the_tiaoxiu_saturday():
    assert next_send_time(at(date(2026, 2, 13), 21, 0), WINDOW, TZ, "workdays") == at(date(2026, 2, 14), 8, 30)
    assert next_send_time(at(date(2026, 2, 14), 21, 0), WINDOW, TZ, "workdays") == at(date(2026, 2, 24), 8, 30)


def test_window_is_read_in_the_configured_zone_whatever_zone_now_is_in():
    utc_now = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 00:00 on Dec 1 in Shanghai
    assert next_send_time(utc_now, WINDOW, TZ) == at(date(2026, 12, 1), 8, 30)
    assert next_send_time(datetime(2026, 12, 1, 1, 0, tzinfo=UTC), WINDOW, TZ) == datetime(
        2026, 12, 1, 1, 0, tzinfo=UTC
    )  # 09:00 in Shanghai
