"""The Chinese words of the board, the reports, the SMS and the referral sheets, in one place.

States and resolutions carry their labels on their enums (domain.models); audit actions,
entity names, levels, time zones and actors are labelled here. Pages, documents and messages
all call these, so 二级 in an SMS is 二级 on the board and 佐证资料 is one word.
"""

from __future__ import annotations

from collections.abc import Mapping

from deadline_watch.domain.models import (
    EscalationReason,
    EscalationState,
    LabelledEnum,
    MilestoneStatus,
    NotificationRule,
    NotificationState,
    ProjectStatus,
    ReferralState,
    Resolution,
    UserRole,
)

LEVEL_ORDINALS = {1: "一级", 2: "二级", 3: "三级", 4: "四级", 5: "五级", 6: "六级", 7: "七级", 8: "八级", 9: "九级"}
EVIDENCE = "佐证资料"
SYSTEM = "系统"



def _labels(enum: type[LabelledEnum]) -> dict[str, str]:
    return {member.value: member.label for member in enum}


# the enums carry their labels (domain.models); these are the same words as plain dicts
ESCALATION_STATE = _labels(EscalationState)
REASON = _labels(EscalationReason)
RESOLUTION = _labels(Resolution)
NOTIFICATION_STATE = _labels(NotificationState)
RULE = _labels(NotificationRule)
ROLE = _labels(UserRole)
MILESTONE_STATUS = _labels(MilestoneStatus)
PROJECT_STATUS = _labels(ProjectStatus)
REFERRAL_STATE = _labels(ReferralState)
ENTITY = {
    "escalation": "督办事项",
    "milestone": "节点",
    "project": "项目",
    "person": "人员",
    "unit": "单位",
    "user": "账户",
    "notification": "短信",
    "referral": "移交记录",
}
ACTION = {
    "escalation.opened": "生成督办",
    "escalation.raised": "督办升级",
    "escalation.acknowledged": "认领",
    "escalation.assigned": "指派",
    "escalation.note_added": "添加备注",
    "escalation.resolved": "办结",
    "escalation.reopened": "重新督办",
    "escalation.unresolved": "撤销办结",
    "escalation.due_date_changed": "截止日期变更",
    "escalation.unreachable": "无法联系责任人",
    "milestone.created": "新增节点",
    "milestone.updated": "节点变更",
    "milestone.completed": "节点完成",
    "milestone.extended": "批准延期",
    "official.progress": "责任人填报进展",
    "official.completion_requested": "责任人申报完成",
    "official.extension_requested": "责任人申请延期",
    "review.approved": "审核通过",
    "review.returned": "审核退回",
    "milestone.reopened": "节点重新打开",
    "milestone.pruned": "节点撤销",
    "project.created": "新增项目",
    "project.updated": "项目变更",
    "project.reactivated": "项目恢复",
    "project.pruned": "项目撤销",
    "person.created": "新增人员",
    "person.updated": "人员变更",
    "person.opted_out": "退订短信",
    "person.opted_in": "恢复接收短信",
    "unit.created": "新增单位",
    "notification.requeued": "短信重发",
    "referral.opened": "移交问责",
    "referral.answered": "登记反馈",
    "user.added": "新增账户",
    "user.token_issued": "签发接口令牌",
    "user.activated": "启用账户",
    "user.deactivated": "停用账户",
    "user.unlocked": "解除锁定",
    "user.locked": "账户锁定",
    "user.password_changed": "修改密码",
}
# Chinese names of the zones an installation is likely to configure; others are shown as
# 当地时间 (the zone's code is not a Chinese word).
ZONE = {
    "Asia/Shanghai": "北京时间",
    "Asia/Chongqing": "北京时间",
    "Asia/Harbin": "北京时间",
    "Asia/Urumqi": "乌鲁木齐时间",
    "Asia/Hong_Kong": "香港时间",
    "Asia/Macau": "澳门时间",
    "Asia/Taipei": "台北时间",
    "UTC": "协调世界时",
    "Etc/UTC": "协调世界时",
}


def level_text(level: int | None) -> str:
    """1 -> 一级 (the SMS, the board and the reports all say it this way)."""
    if not level:
        return "—"
    return LEVEL_ORDINALS.get(level, f"第{level}级")


def zone_name(zone: str) -> str:
    return ZONE.get(zone, "当地时间")


def action_text(action: str) -> str:
    return ACTION.get(action, "其他操作")


def entity_text(entity_type: str) -> str:
    return ENTITY.get(entity_type, "记录")


def actor_text(actor: str | None, people: Mapping[str, tuple[str, str]] | None = None) -> str:
    """Who did it, in words: 系统 for the scan, delivery, webhooks, imports and the command
    line; a board user as display name and role (张督办(督办员)) from `people`
    (username -> (display name, role)), else the bare account name."""
    if not actor:
        return SYSTEM
    kind, _, name = actor.partition(":")
    if kind == "user" and name:
        display, role = (people or {}).get(name, (name, ""))
        return f"{display}({ROLE[role]})" if role in ROLE else display
    return SYSTEM
