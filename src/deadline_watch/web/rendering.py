"""Jinja2 templates of the board and the Chinese labels and filters they use."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from deadline_watch.board.lights import Light
from deadline_watch.core.logs import mask_mobile
from deadline_watch.domain.models import (
    EscalationReason,
    EscalationState,
    MilestoneStatus,
    NotificationRule,
    NotificationState,
    ProjectLevel,
    ProjectStatus,
    Resolution,
    UserRole,
)

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

# audit actions are free-form strings (not an enum), so their labels stay here
ACTION_ZH = {
    "escalation.opened": "生成督办",
    "escalation.raised": "督办升级",
    "escalation.acknowledged": "认领",
    "escalation.assigned": "指派",
    "escalation.note_added": "添加备注",
    "escalation.resolved": "办结",
    "milestone.completed": "节点完成",
    "milestone.extended": "批准延期",
    "official.progress": "责任人填报进展",
    "official.completion_requested": "责任人申报完成",
    "official.extension_requested": "责任人申请延期",
    "review.approved": "审核通过",
    "review.returned": "审核退回",
}
PROJECT_LEVELS = tuple(level.value for level in ProjectLevel)


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
        # the enums carry their Chinese labels: `EscalationState.label_of(row.state)`
        EscalationState=EscalationState,
        EscalationReason=EscalationReason,
        Resolution=Resolution,
        NotificationState=NotificationState,
        NotificationRule=NotificationRule,
        UserRole=UserRole,
        ProjectStatus=ProjectStatus,
        MilestoneStatus=MilestoneStatus,
        Light=Light,
        ACTION_ZH=ACTION_ZH,
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
