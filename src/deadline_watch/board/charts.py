"""Server-side SVG charts for the 画像, 督办总览 and 考核评价 pages: no script, so the board's CSP holds.

Each chart is standalone SVG text with a <title>/<desc> for screen readers and a <title>
per bar with the exact figures (the browser shows it as a tooltip). Charts scale to their
container through the viewBox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deadline_watch.board.evaluation import EvaluationRow

__all__ = ["Series", "column_chart_svg", "horizontal_bars_svg", "bar_chart_svg"]

FONT = "font-family=\"'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif\""


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[int]


def _open(width: int, height: int, title: str, desc: str, ident: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" {FONT} font-size="13">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
        f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def column_chart_svg(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    ident: str = "chart",
    stacked: bool = True,
    notes: Sequence[str] | None = None,
) -> str:
    """Vertical columns per category: stacked (parts of a whole) or side by side.

    `notes` (one per category) is printed above each column, e.g. an on-time rate.
    """
    width, height = 760, 300
    left, right, top, bottom = 48, 16, 56, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(categories), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))] if stacked else \
        [max((s.values[i] for s in series), default=0) for i in range(len(categories))]
    top_value = _nice_max(max(totals, default=0))
    desc = "; ".join(
        f"{c}: " + ", ".join(f"{s.name} {s.values[i]}" for s in series) for i, c in enumerate(categories)
    ) or "无数据"
    parts = _open(width, height, title, desc, ident)
    for index, s in enumerate(series):  # legend
        x = left + index * 110
        parts.append(f'<rect x="{x}" y="32" width="12" height="12" fill="{s.colour}"/>'
                     f'<text x="{x + 16}" y="43">{escape(s.name)}</text>')
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot_h * (1 - fraction)
        value = top_value * fraction
        label = f"{value:.0f}" if value == int(value) else ""  # whole numbers only: 1 -> 0, 1
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666" font-size="11">'
                     f'{label}</text>')
    slot = plot_w / n
    bar = slot * (0.7 if stacked else 0.8 / max(len(series), 1))
    for i, category in enumerate(categories):
        x0 = left + slot * i + slot * 0.15
        base = top + plot_h
        detail = f"{category}: " + ", ".join(f"{s.name} {s.values[i]}" for s in series)
        parts.append(f"<g><title>{escape(detail)}</title>")
        for k, s in enumerate(series):
            h = plot_h * s.values[i] / top_value
            if stacked:
                base -= h
                parts.append(f'<rect x="{x0:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{s.colour}"/>')
            else:
                x = left + slot * i + slot * 0.1 + bar * k
                parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{s.colour}"/>')
        parts.append("</g>")
        centre = left + slot * i + slot / 2
        parts.append(f'<text x="{centre:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="#444" '
                     f'font-size="11">{escape(category)}</text>')
        if notes and notes[i]:
            y = top + plot_h - plot_h * totals[i] / top_value - 4
            parts.append(f'<text x="{centre:.1f}" y="{y:.1f}" text-anchor="middle" font-size="10" fill="#333">'
                         f'{escape(notes[i])}</text>')
    if not categories:
        parts.append(f'<text x="{left + 8}" y="{top + 20}" fill="#666">无数据</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def horizontal_bars_svg(
    labels: Sequence[str], values: Sequence[int], *, title: str, ident: str = "bars", colour: str = "#c62828",
    unit: str = "",
) -> str:
    """One horizontal bar per label (long Chinese names fit on the left), value at the bar's end."""
    label_width, bar_width, right_pad = 150, 260, 64
    row_height, top, bottom = 26, 40, 12
    width = label_width + bar_width + right_pad
    height = top + max(len(labels), 1) * row_height + bottom
    top_value = max(max(values, default=0), 1)
    desc = "; ".join(f"{label}: {value}{unit}" for label, value in zip(labels, values, strict=True)) or "无数据"
    parts = _open(width, height, title, desc, ident)
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row_height
        shown = label if len(label) <= 10 else label[:9] + "…"
        length = bar_width * value / top_value
        parts.append(
            f'<g><title>{escape(label)}: {value}{escape(unit)}</title>'
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{escape(shown)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row_height - 8}" fill="{colour}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}">{value}{escape(unit)}</text></g>'
        )
    if not labels:
        parts.append(f'<text x="{label_width}" y="{top + 16}" fill="#666">无数据</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def bar_chart_svg(rows: list[EvaluationRow], *, title: str) -> str:
    """The evaluation's chart: on-time rate per unit or official, horizontal bars, as SVG text.

    Horizontal bars leave room for long Chinese unit names; each bar carries its own
    <title> with the exact figures, and the chart has a <title>/<desc> for screen readers.
    """
    label_width, bar_width, right_pad = 220, 420, 70
    row_height, top, bottom = 30, 44, 30
    width = label_width + bar_width + right_pad
    height = top + max(len(rows), 1) * row_height + bottom
    font = "font-family=\"'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif\""
    summary = ";".join(f"{r.label}:{_percent(r.on_time_rate)}" for r in rows) or "无数据"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc" {font} font-size="13">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">按时完成率:{escape(summary)}</desc>',
        f'<text x="{width / 2:.0f}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in (0, 25, 50, 75, 100):
        x = label_width + bar_width * tick / 100
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - bottom + 4}" stroke="#ddd" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" fill="#666" font-size="11">{tick}%</text>'
        )
    if not rows:
        parts.append(f'<text x="{label_width}" y="{top + 18}" fill="#666">无数据</text>')
    for index, r in enumerate(rows):
        y = top + index * row_height
        label = r.label if len(r.label) <= 16 else r.label[:15] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 19}" text-anchor="end">{escape(label)}</text>'
        )
        detail = (
            f"{r.label}: 按时完成率 {_percent(r.on_time_rate)}, 到期 {r.milestones_due}, "
            f"按时 {r.completed_on_time}, 逾期完成 {r.completed_late}, 仍逾期 {r.still_overdue}"
        )
        if r.on_time_rate is None:
            parts.append(
                f'<g><title>{escape(detail)}</title><text x="{label_width + 6}" y="{y + 19}" fill="#888">'
                "无到期节点</text></g>"
            )
            continue
        length = bar_width * r.on_time_rate
        colour = "#2e7d32" if r.on_time_rate >= 0.9 else "#f9a825" if r.on_time_rate >= 0.6 else "#c62828"
        parts.append(
            f'<g><title>{escape(detail)}</title>'
            f'<rect x="{label_width}" y="{y + 5}" width="{length:.1f}" height="{row_height - 10}" fill="{colour}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 19}">{_percent(r.on_time_rate)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
