"""项目体检: the score formula on hand-computed cases, and its reasons on the project page."""

from __future__ import annotations

import pytest

from deadline_watch.board.health import Band, MilestoneFacts, band_for, score_project


def test_on_time_project_with_evidence_scores_100_healthy() -> None:
    health = score_project([
        MilestoneFacts("谋划立项", completed=True, has_evidence=True),
        MilestoneFacts("组织实施"),
    ])
    assert (health.score, health.band, health.reasons) == (100, Band.HEALTHY, [])
    assert health.summary == "各节点按期推进"


def test_stage_overdue_and_level_two_reads_like_the_board() -> None:
    # 阶段成果 weight 2.0 x 12 days = 24; level 2 = 10 -> 100 - 34 = 66 (预警)
    health = score_project([
        MilestoneFacts("谋划立项", completed=True, has_evidence=True),
        MilestoneFacts("阶段成果", days_overdue=12, max_level=2),
    ])
    assert health.score == 66
    assert health.band is Band.WARNING
    assert health.summary == "阶段成果逾期 12 天, 已达二级督办"


def test_days_are_capped_at_30_and_weighted_by_stage() -> None:
    # 验收结项 2.5 x min(45, 30) = 75 -> 25 (严重)
    assert score_project([MilestoneFacts("验收结项", days_overdue=45)]).score == 25
    # a custom node weighs 1.0: 10 days -> 90
    assert score_project([MilestoneFacts("土地征收", days_overdue=10)]).score == 90


def test_late_completion_costs_half_and_missing_evidence_costs_its_share() -> None:
    # 组织实施 completed 8 days late: 1.5 x 8 x 0.5 = 6; evidence on 1 of 2 completed: 10 x 0.5 = 5
    # level 1 reached: 5 -> 100 - 16 = 84 (关注)
    health = score_project([
        MilestoneFacts("谋划立项", completed=True, has_evidence=True),
        MilestoneFacts("组织实施", days_late=8, completed=True, max_level=1),
    ])
    assert health.score == 84
    assert health.band is Band.WATCH
    assert health.reasons == ["组织实施逾期 8 天完成", "已达一级督办", "佐证资料 1/2 个节点"]


def test_extensions_and_returns_are_capped() -> None:
    # extensions 5 x 4 = 20 -> capped 12; returns 2 x 3 = 6 -> 100 - 18 = 82
    health = score_project([MilestoneFacts("组织实施")], extensions=5, returns=2)
    assert health.score == 82
    assert health.reasons == ["延期 5 次", "申请被退回 2 次"]


def test_level_three_counts_once_for_the_project() -> None:
    # two milestones at level 3 and 1: the highest level costs 20, once
    health = score_project([
        MilestoneFacts("谋划立项", days_overdue=1, max_level=1),  # 1.0 x 1 = 1
        MilestoneFacts("组织实施", days_overdue=2, max_level=3),  # 1.5 x 2 = 3
    ])
    assert health.score == 100 - 1 - 3 - 20
    assert health.reasons[0] == "已达三级督办"


def test_score_never_below_zero_and_rounds_half_up() -> None:
    facts = [MilestoneFacts(stage, days_overdue=60, max_level=4) for stage in ("谋划立项", "组织实施", "阶段成果")]
    assert score_project(facts).score == 0
    # 组织实施 1.5 x 1 x 0.5 = 0.75 late -> 99.25 -> 99; 谋划立项 1 day late 0.5 -> 99.5 -> 100
    assert score_project([MilestoneFacts("组织实施", days_late=1, completed=True, has_evidence=True)]).score == 99
    assert score_project([MilestoneFacts("谋划立项", days_late=1, completed=True, has_evidence=True)]).score == 100


@pytest.mark.parametrize(("score", "band"), [
    (100, Band.HEALTHY), (85, Band.HEALTHY), (84, Band.WATCH), (70, Band.WATCH),
    (69, Band.WARNING), (50, Band.WARNING), (49, Band.SEVERE), (0, Band.SEVERE),
])
def test_band_edges(score: int, band: Band) -> None:
    assert band_for(score) is band

