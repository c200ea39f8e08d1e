"""SMS bodies from Jinja2 templates (zh-CN), and the same message as template variables.

Templates live in the package (`templates/sms/*.j2`); a file of the same name in
`sms.templates_dir` overrides one. Undefined variables are errors (StrictUndefined), so a
template typo fails loudly at the first render instead of sending a broken message.

Every message is also described by its template variables (`RenderedSms.params`: short
strings named in docs/sms.md), which template providers (Alibaba Cloud) fill into the
text approved in advance; the packaged .j2 texts read exactly like those approved texts.
Reminders are kept within `sms.max_segments` segments, escalation notices one more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.core.templates import overridable_environment
from deadline_watch.domain import labels
from deadline_watch.sms.segments import count_segments
from deadline_watch.sms.simple_templates import compile_simple

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "sms"
ELLIPSIS = "…"
# Alibaba Cloud: each variable of a notification template holds at most 35 characters.
VARIABLE_LIMIT = 35
# SMS to the responsible official or the lead leader: they end with the person's link
# (`<public_url>/m/<token>`) when `web.public_url` is set, and may use one more segment
LINKED_TEMPLATES = frozenset(
    {"reminder", "escalation_owner", "escalation_lead_leader", "request_returned", "reply_acknowledged"}
)


@dataclass(frozen=True, slots=True)
class RenderedSms:
    body: str
    segments: int
    params: dict[str, str] = field(default_factory=dict)  # the template variables (all strings)


@lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    # templates are read once per process (clear_template_cache)
    return overridable_environment(templates_dir, PACKAGE_TEMPLATES, auto_reload=False)


def date_text(day: date) -> str:
    """2026-12-08 -> 2026年12月8日"""
    return f"{day.year}年{day.month}月{day.day}日"


def level_text(level: int) -> str:
    return labels.level_text(level)


def day_unit(day_mode: str) -> str:
    return "个工作日" if day_mode == "workdays" else "天"


@lru_cache(maxsize=64)
def _template(templates_dir: str | None, name: str) -> jinja2.Template:
    try:
        return _environment(templates_dir).get_template(f"{name}.j2")
    except jinja2.TemplateNotFound:
        raise ConfigError(f"找不到短信模板 {name}.j2", f"SMS template {name}.j2 not found") from None


@lru_cache(maxsize=64)
def _simple(templates_dir: str | None, name: str) -> Callable[[Mapping[str, object]], str | None] | None:
    """The template as a plain callable when it only prints and tests variables (issue 17)."""
    _template(templates_dir, name)  # the same ConfigError when it does not exist
    return compile_simple(_environment(templates_dir), f"{name}.j2")


def clip(text: str, limit: int = VARIABLE_LIMIT) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def signature_text(settings: Settings) -> str:
    """What the handset shows before the text: the Aliyun sign name in 【】 with that backend."""
    sign_name = settings.sms.aliyun.sign_name
    if settings.sms.backend == "aliyun" and sign_name:
        return f"【{sign_name}】"
    return settings.sms.signature


def segment_limit(template: str, settings: Settings, *, linked: bool = False) -> int:
    """Reminders within `sms.max_segments` (2 by default), every other notice, and any
    message that carries the official's link, one more."""
    return settings.sms.max_segments + (0 if template == "reminder" and not linked else 1)


def template_params(template: str, settings: Settings, context: Mapping[str, object]) -> dict[str, str]:
    """The template variables of one message: strings within the provider's variable limit.

    Names (docs/sms.md): name, code, project, node, due, remaining (reminder), overdue and
    level (escalations), unit and owner (lead leader, supervisors), reason (a returned
    request), contact, link (when the message carries the official's personal link: the
    Aliyun backend sends its token alone, to a `*_link` template holding the prefix).
    """
    return _template_params(template, clip(settings.sms.contact or ""), context)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _template_params(template: str, contact: str, context: Mapping[str, object]) -> dict[str, str]:
    """`template_params` with the clipped contact given (the same for every message)."""
    get = context.get
    if template == "sign_in_code":  # the officials' sign-in code: no project
        return {"passcode": _text(get("passcode")), "minutes": _text(get("minutes"))}
    params = {
        "name": clip(_text(get("person_name"))),
        "code": clip(_text(get("project_code"))),
        "project": clip(_text(get("project_name"))),
        "node": clip(_text(get("milestone"))),
        "due": _text(get("due_date_text")),
    }
    if template in ("request_returned", "reply_acknowledged"):  # the officials' own requests
        if template == "request_returned":
            params["reason"] = clip(_text(get("reason")))
        if get("link"):
            params["link"] = _text(get("link"))
        params["contact"] = contact
        return params
    if template == "reminder":
        days_left = get("days_left")
        params["remaining"] = "今天是截止日" if days_left == 0 else f"剩余{days_left}{_text(get('day_unit'))}"
    else:
        params["overdue"] = _text(get("days_overdue"))
        params["level"] = _text(get("level_text"))
    if template in ("escalation_lead_leader", "escalation_supervisors"):
        params["unit"] = clip(_text(get("unit")))
        params["owner"] = clip(_text(get("owner_name")))
    if template != "escalation_supervisors":
        params["contact"] = contact
    if get("link"):
        params["link"] = _text(get("link"))
    return params


def render_sms(template: str, settings: Settings, **context: object) -> RenderedSms:
    """Render `template`.j2 and its variables; shorten the project name with "…" until the
    message fits its segment limit (`segment_limit`; 3 by default when it carries a link).

    The date, the numbers and the link are never shortened; if even a one-character
    project name does not fit, the shortest version is returned (the count says how long
    it is).
    """
    return message_renderer(template, settings).render(context)


def message_renderer(template: str, settings: Settings) -> MessageRenderer:
    """`render_sms` for one template and these settings, kept for rendering many messages."""
    templates_dir = str(settings.sms.templates_dir) if settings.sms.templates_dir else None
    return _renderer(templates_dir, template, signature_text(settings), settings.sms.contact or "",
                     segment_limit(template, settings), segment_limit(template, settings, linked=True))


@lru_cache(maxsize=64)
def _renderer(templates_dir: str | None, template: str, signature: str, contact: str, limit: int,
              linked_limit: int) -> MessageRenderer:
    return MessageRenderer(templates_dir, template, signature, contact, limit, linked_limit)


class MessageRenderer:
    """One template with what does not change from message to message: the signature, the
    contact, the segment limits and the template itself (plain Python when simple)."""

    def __init__(self, templates_dir: str | None, template: str, signature: str, contact: str, limit: int,
                 linked_limit: int) -> None:
        self.templates_dir, self.template = templates_dir, template
        self.simple = _simple(templates_dir, template)
        self.defaults = {"signature": signature, "contact": contact, "link": ""}
        self.contact = clip(contact)
        self.limits = (limit, linked_limit)

    def render(self, context: Mapping[str, object], **more: object) -> RenderedSms:
        """`render_sms(template, settings, **context, **more)`."""
        values = {**self.defaults, **context, **more}
        full_name = clip(str(values.get("project_name", "")))
        best = self._attempt(values, full_name)
        limit = self.limits[bool(values["link"])]
        if best.segments <= limit or len(full_name) <= 1:
            return best
        # the longest prefix that fits: binary search on the kept length
        low, high = 1, len(full_name) - 1
        best = self._attempt(values, full_name[:1] + ELLIPSIS)
        while low <= high:
            middle = (low + high) // 2
            candidate = self._attempt(values, full_name[:middle] + ELLIPSIS)
            if candidate.segments <= limit:
                best, low = candidate, middle + 1
            else:
                high = middle - 1
        return best

    def _attempt(self, values: dict[str, object], project_name: str) -> RenderedSms:
        """The message with this project name. `values` is render's own copy: it becomes
        the template's variables, the message's params over the context (a param that is
        also a context name — unit, link, contact — reads the same when computed again
        from itself, so a later attempt gets the same params)."""
        values["project_name"] = project_name
        params = _template_params(self.template, self.contact, values)
        values.update(params)
        text = self.simple(values) if self.simple is not None else None
        try:
            body = (text if text is not None else _template(self.templates_dir, self.template).render(**values))
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"短信模板 {self.template}.j2 使用了未定义的变量: {exc.message}",
                f"SMS template {self.template}.j2 uses an undefined variable: {exc.message}",
            ) from None
        body = body.strip()
        return RenderedSms(body, count_segments(body), params)


def clear_template_cache() -> None:
    _renderer.cache_clear()
    _simple.cache_clear()
    _template.cache_clear()
    _environment.cache_clear()
