"""Jinja2 templates of the board and the Chinese labels and filters they use."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from deadline_watch.core.logs import mask_mobile

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

ESCALATION_STATE_ZH = {"open": "待处理", "acknowledged": "已认领", "resolved": "已办结"}
REASON_ZH = {"overdue": "逾期未完成", "unreachable": "无法联系责任人"}
RESOLUTION_ZH = {
    "completed_late": "已逾期完成",
    "deadline_extended": "已批准延期",
    "waived": "免予督办",
    "referred_for_accountability": "移交问责",
    "cancelled": "节点已撤销",
    "reached": "已联系上责任人",
}
NOTIFICATION_STATE_ZH = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发出",
    "delivered": "已送达",
    "undelivered": "未送达",
    "failed": "发送失败",
    "cancelled": "已取消",
}
RULE_ZH = {"reminder": "到期提醒", "escalation": "逾期督办"}
ROLE_ZH = {"admin": "管理员", "supervisor": "督办员", "viewer": "只读"}
ACTION_ZH = {
    "escalation.opened": "生成督办",
    "escalation.raised": "督办升级",
    "escalation.acknowledged": "认领",
    "escalation.assigned": "指派",
    "escalation.note_added": "添加备注",
    "escalation.resolved": "办结",
}
LIGHT_ZH = {"green": "正常推进", "yellow": "临近截止", "red": "已逾期", "grey": "已完成/已终止"}
PROJECT_LEVELS = ("省级", "市级", "区级")


def level_zh(level: int | None) -> str:
    return f"{level}级" if level else "—"


def local_time(instant: datetime | None, tz: Any) -> str:
    if instant is None:
        return "—"
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def iso_date(day: date | None) -> str:
    return day.isoformat() if day else "—"


def make_templates(settings: Any) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.globals.update(
        ESCALATION_STATE_ZH=ESCALATION_STATE_ZH,
        REASON_ZH=REASON_ZH,
        RESOLUTION_ZH=RESOLUTION_ZH,
        NOTIFICATION_STATE_ZH=NOTIFICATION_STATE_ZH,
        RULE_ZH=RULE_ZH,
        ROLE_ZH=ROLE_ZH,
        ACTION_ZH=ACTION_ZH,
        LIGHT_ZH=LIGHT_ZH,
        PROJECT_LEVELS=PROJECT_LEVELS,
        TIMEZONE=settings.timezone,
    )
    env.filters["level_zh"] = level_zh
    env.filters["local_time"] = lambda instant: local_time(instant, settings.tz)
    env.filters["iso_date"] = iso_date
    env.filters["mask_mobile"] = lambda text: mask_mobile(text) if text else "—"
    env.filters["query"] = lambda params: urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return templates


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a board page; `viewer` (or None on the login page) comes in `context`."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("viewer", None)
    context.setdefault("nav", "")
    return templates.TemplateResponse(request, template, context, status_code=status_code)
