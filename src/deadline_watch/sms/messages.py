"""SMS bodies from Jinja2 templates (zh-CN), kept within `sms.max_segments` segments.

Templates live in the package (`templates/sms/*.j2`); a file of the same name in
`sms.templates_dir` overrides one. Undefined variables are errors (StrictUndefined), so a
template typo fails loudly at the first render instead of sending a broken message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.sms.segments import count_segments

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "sms"
ELLIPSIS = "…"
LEVEL_TEXT = {1: "一级", 2: "二级", 3: "三级", 4: "四级", 5: "五级"}


@dataclass(frozen=True)
class RenderedSms:
    body: str
    segments: int


@lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir:
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,  # templates are read once per process (clear_template_cache)
        keep_trailing_newline=False,
        trim_blocks=True,
    )


def date_text(day: date) -> str:
    """2026-12-08 -> 2026年12月8日"""
    return f"{day.year}年{day.month}月{day.day}日"


def level_text(level: int) -> str:
    return LEVEL_TEXT.get(level, f"{level}级")


def day_unit(day_mode: str) -> str:
    return "个工作日" if day_mode == "workdays" else "天"


@lru_cache(maxsize=64)
def _template(templates_dir: str | None, name: str) -> jinja2.Template:
    try:
        return _environment(templates_dir).get_template(f"{name}.j2")
    except jinja2.TemplateNotFound:
        raise ConfigError(f"找不到短信模板 {name}.j2", f"SMS template {name}.j2 not found") from None


def render_sms(template: str, settings: Settings, **context: object) -> RenderedSms:
    """Render `template`.j2; shorten `project_name` with "…" until it fits max_segments.

    The date and the numbers are never shortened; if even a one-character project name
    does not fit, the shortest version is returned (the count says how long it is).
    """
    compiled = _template(str(settings.sms.templates_dir) if settings.sms.templates_dir else None, template)
    values = {"signature": settings.sms.signature, **context}

    def attempt(project_name: str) -> str:
        try:
            return compiled.render(**{**values, "project_name": project_name}).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"短信模板 {template}.j2 使用了未定义的变量: {exc.message}",
                f"SMS template {template}.j2 uses an undefined variable: {exc.message}",
            ) from None

    full_name = str(values.get("project_name", ""))
    body = attempt(full_name)
    limit = settings.sms.max_segments
    segments = count_segments(body)
    if segments <= limit or len(full_name) <= 1:
        return RenderedSms(body, segments)
    # the longest prefix that fits: binary search on the kept length
    low, high = 1, len(full_name) - 1
    best = attempt(full_name[:1] + ELLIPSIS)
    while low <= high:
        middle = (low + high) // 2
        candidate = attempt(full_name[:middle] + ELLIPSIS)
        if count_segments(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return RenderedSms(best, count_segments(best))


def clear_template_cache() -> None:
    _template.cache_clear()
    _environment.cache_clear()
