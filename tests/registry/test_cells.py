"""Cell parsing: trimming, the accepted date styles (and nothing else), mobiles to E.164."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from deadline_watch.registry.cells import (
    CellError,
    clean_person_name,
    clean_text,
    display_mobile,
    parse_date,
    parse_mobile,
    split_co_units,
)


@pytest.mark.parametrize("raw", ["中和街道办事处", " 中和街道办事处 ", "\u3000中和街道办事处\u00a0",
                                 "\ufeff中和街道办事处\u200b", "\t中和街道办事处\r\n"])
def test_every_cell_is_trimmed_of_all_kinds_of_space(raw):
    assert clean_text(raw) == "中和街道办事处"


def test_padded_chinese_names_lose_their_padding_other_names_keep_one_space():
    assert clean_person_name("张\u3000三") == "张三"
    assert clean_person_name(" 张  三 ") == "张三"
    assert clean_person_name("Li   Wei") == "Li Wei"


@pytest.mark.parametrize(
    "raw",
    ["2026-12-01", "2026/12/1", "2026.12.01", "2026年12月1日", "２０２６年１２月１日", "２０２６－１２－０１",
     "2026-12-1", " 2026/12/01 ", "2026-12-01 00:00:00", "2026-12-01 00:00"],
)
def test_documented_date_styles_parse(raw):
    assert parse_date(raw) == date(2026, 12, 1)


def test_real_date_cells_parse():
    assert parse_date(date(2026, 12, 1)) == date(2026, 12, 1)
    assert parse_date(datetime(2026, 12, 1)) == date(2026, 12, 1)


@pytest.mark.parametrize(
    "raw",
    ["12/1/2026", "1/12/2026", "2026-13-01", "2026-02-30", "20261201", "2026-12", "26-12-01",
     "2026/12-01", "2026-12-01 10:30", "明年春节", "2026年12月1", 46357, 46357.0],
)
def test_anything_else_is_an_error_never_a_guess(raw):
    with pytest.raises(CellError):
        parse_date(raw)


def test_date_cell_with_time_of_day_is_an_error():
    with pytest.raises(CellError):
        parse_date(datetime(2026, 12, 1, 9, 30))


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "138 0013 8000", "138-0013-8000", "+86 13800138000", "86-13800138000",
     "+86-138-0013-8000", "１３８００１３８０００", "0086 13800138000", 13800138000, 13800138000.0],
)
def test_mobiles_normalise_to_e164(raw):
    assert parse_mobile(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["028-85123456", "12345", "14000000000", "abc", "1380013800", "+86 138"])
def test_invalid_or_landline_numbers_are_errors(raw):
    with pytest.raises(CellError):
        parse_mobile(raw)


def test_export_writes_mobiles_excel_keeps_as_text_and_they_parse_back():
    shown = display_mobile("+8613800138000")
    assert shown == "138 0013 8000"
    assert parse_mobile(shown) == "+8613800138000"
    assert parse_mobile(display_mobile("+12015550123")) == "+12015550123"


def test_co_units_split_on_every_separator_trimmed_and_deduplicated():
    assert split_co_units(" 发展改革局、 投资服务局，规划建设局,财政局;石羊街道；发展改革局 ") == [
        "发展改革局", "投资服务局", "规划建设局", "财政局", "石羊街道"]
    assert split_co_units("") == []
