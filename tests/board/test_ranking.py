"""Ranking with shared places: the rule every paper numbers units and officials by."""

from __future__ import annotations

from deadline_watch.board.ranking import rank_positions


def test_ties_share_a_place_and_the_next_place_is_skipped() -> None:
    assert rank_positions([9, 7, 7, 7, 3]) == [1, 2, 2, 2, 5]


def test_rates_tie_and_none_is_not_ranked() -> None:
    assert rank_positions([1.0, 0.5, 0.5, None]) == [1, 2, 2, None]


def test_empty_and_single() -> None:
    assert rank_positions([]) == []
    assert rank_positions([0]) == [1]
