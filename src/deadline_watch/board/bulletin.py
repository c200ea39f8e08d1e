"""每月通报: the month's figures as a published notice, with the ranked tables attached.

`monthly_bulletin` reads the month before `at` (as `monthly_report` does) into plain
values; `bulletin_text` words them through a Jinja2 template (`templates/bulletin/
bulletin.txt.j2`, overridable by a file of the same name in `reports.templates_dir`, as
the SMS templates are); `render_docx` and `render_html` lay the words and the tables out.
Rankings follow `ranking.ranked` (on-time rate, ties share a place).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from deadline_watch.board.evaluation import EvaluationRow, evaluate
from deadline_watch.board.linked_facts import referral_counts_by_unit
from deadline_watch.board.ranking import Ranked, ranked
from deadline_watch.board.report_tables import monthly_period
from deadline_watch.board.standing import standing_counts_by_unit, with_standing_units
from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.core.templates import overridable_environment
from deadline_watch.sms.messages import date_text

__all__ = ["Bulletin", "monthly_bulletin", "bulletin_text", "WORST_UNITS_NAMED"]

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "bulletin"
WORST_UNITS_NAMED = 3


@dataclass(frozen=True)
class Bulletin:
    start: date
    end: date
    at: date
    total: EvaluationRow
    units: list[Ranked]
    officials: list[Ranked]
    referrals: int | None  # None: referrals are not recorded
    issuer: str
    standing: dict[str, int] = field(default_factory=dict)  # 长期 tasks per unit: no deadline, in no rate

    @property
    def standing_total(self) -> int:
        return sum(self.standing.values())

    @property
    def month_label(self) -> str:
        return f"{self.start.year}年{self.start.month}月"

    @property
    def slug(self) -> str:
        return f"bulletin-{self.start:%Y-%m}"

    @property
    def worst_units(self) -> list[Ranked]:
        """The units named in the notice: the lowest on-time rates among units with anything due."""
        rated = [u for u in self.units if u.rank is not None]
        return rated[::-1][:WORST_UNITS_NAMED]

    @property
    def most_overdue_units(self) -> list[Ranked]:
        with_overdue = [u for u in self.units if u.row.still_overdue > 0]
        return sorted(with_overdue, key=lambda u: (-u.row.still_overdue, u.row.name))[:WORST_UNITS_NAMED]

    @property
    def referral_units(self) -> list[Ranked]:
        return sorted((u for u in self.units if u.referrals), key=lambda u: (-(u.referrals or 0), u.row.name))


def monthly_bulletin(session, *, at: date, settings: Settings) -> Bulletin:
    """The 通报 of the calendar month before `at`, evaluated as of `at` (like `monthly_report`)."""
    start, end = monthly_period(at)
    result = evaluate(session, start=start, end=end, today=at)
    referrals = referral_counts_by_unit(session, start=start, end=end)
    standing = standing_counts_by_unit(session)
    return Bulletin(
        start=start, end=end, at=at, total=result.total,
        units=ranked(with_standing_units(result.units, standing), referrals), officials=ranked(result.officials),
        referrals=None if referrals is None else sum(referrals.values()),
        issuer=settings.reports.issuer, standing=standing,
    )


@lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    env = overridable_environment(templates_dir, PACKAGE_TEMPLATES, lstrip_blocks=True)
    env.filters["pct"] = lambda rate: "—" if rate is None else f"{rate * 100:.1f}%"
    env.filters["days"] = lambda value: "—" if value is None else f"{value:.1f}"
    env.filters["date_zh"] = date_text
    return env


def bulletin_text(bulletin: Bulletin, settings: Settings) -> tuple[str, list[str]]:
    """(title, paragraphs) worded by the template: its first line is the title, blank lines part paragraphs."""
    templates_dir = settings.reports.templates_dir
    try:
        template = _environment(str(templates_dir) if templates_dir else None).get_template("bulletin.txt.j2")
        text = template.render(b=bulletin, total=bulletin.total)
    except jinja2.TemplateNotFound:
        raise ConfigError("找不到通报模板 bulletin.txt.j2", "bulletin template bulletin.txt.j2 not found") from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"通报模板使用了未定义的变量: {exc.message}",
                          f"the bulletin template uses an undefined variable: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"通报模板第 {exc.lineno} 行有语法错误: {exc.message}",
                          f"bulletin template syntax error on line {exc.lineno}: {exc.message}") from None
    blocks = ["".join(line.strip() for line in block.splitlines() if line.strip())
              for block in text.strip().split("\n\n")]
    blocks = [b for b in blocks if b]
    if not blocks:
        raise ConfigError("通报模板没有输出任何内容", "the bulletin template rendered nothing")
    return blocks[0], blocks[1:]


def clear_template_cache() -> None:
    _environment.cache_clear()
