"""Server-side SVG charts: well-formed, one bar per value, exact figures in each tooltip."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from deadline_watch.board.charts import Series, column_chart_svg, horizontal_bars_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_stacked_columns_have_a_bar_per_part_and_whole_number_ticks() -> None:
    svg = column_chart_svg(["10月", "11月"], [Series("按时", "#0a0", [3, 0]), Series("逾期", "#a00", [1, 2])],
                           title="趋势 <测试>", notes=["75%", ""])
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "趋势 <测试>"
    groups = [g for g in root.iter(f"{SVG}g")]
    assert [g.find(f"{SVG}title").text for g in groups] == ["10月: 按时 3, 逾期 1", "11月: 按时 0, 逾期 2"]
    assert len(groups[0].findall(f"{SVG}rect")) == 2
    # the tallest column is 4, the axis runs to 5: only whole numbers are labelled
    ticks = [t.text or "" for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "", "", "", "5"]
    assert "75%" in svg


def test_horizontal_bars_scale_to_the_largest_and_shorten_long_labels() -> None:
    svg = horizontal_bars_svg(["新经济发展局", "一个名字特别特别长的责任单位"], [4, 2], title="逾期", unit=" 个")
    root = ET.fromstring(svg)
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1]
    assert "一个名字特别特别长…" in svg and "一个名字特别特别长的责任单位: 2 个" in svg


def test_empty_charts_say_no_data() -> None:
    assert "无数据" in column_chart_svg([], [], title="空")
    assert "无数据" in horizontal_bars_svg([], [], title="空")
