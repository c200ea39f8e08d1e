"""Ranking with ties shared (1, 2, 2, 4): the one rule every paper uses to number units and officials.

Units and officials are ranked by on-time rate, best first; equal rates share a place and
are listed by fewer still overdue, then by name. Nothing due: no rank, listed last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deadline_watch.board.evaluation import EvaluationRow

__all__ = ["rank_positions", "Ranked", "ranked"]


def rank_positions(values: Sequence[float | None]) -> list[int | None]:
    """The rank of each value in a list already sorted best first: equal values share a rank and the
    next distinct value skips the shared places (competition ranking). None (nothing to
    rank, e.g. no milestone due) gets None and is expected at the end."""
    ranks: list[int | None] = []
    previous: object = object()
    current = 0
    for position, value in enumerate(values, start=1):
        if value is None:
            ranks.append(None)
            continue
        if value != previous:
            current = position
            previous = value
        ranks.append(current)
    return ranks


@dataclass(frozen=True)
class Ranked:
    rank: int | None
    row: EvaluationRow
    referrals: int | None = None  # None: referrals are not recorded


def _order_key(row: EvaluationRow) -> tuple:
    nothing_due = row.on_time_rate is None
    return (nothing_due, -(row.on_time_rate or 0.0), row.still_overdue, row.name, row.id or 0)


def ranked(rows: Sequence[EvaluationRow], referrals: dict[str, int] | None = None) -> list[Ranked]:
    """Rows best first with competition ranks on the on-time rate (see the module doc)."""
    ordered = sorted(rows, key=_order_key)
    ranks = rank_positions([r.on_time_rate for r in ordered])
    return [
        Ranked(rank=rank, row=row, referrals=None if referrals is None else referrals.get(row.name, 0))
        for rank, row in zip(ranks, ordered, strict=True)
    ]
