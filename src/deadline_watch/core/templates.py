"""Jinja2 environments for texts an admin may reword: a template in the configured
directory (`sms.templates_dir`, `reports.templates_dir`) wins over the packaged one of the
same name; undefined variables are errors, never blanks."""

from __future__ import annotations

from pathlib import Path

import jinja2


def overridable_environment(templates_dir: str | None, package_dir: Path, **options: object) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir:
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders.append(jinja2.FileSystemLoader(str(package_dir)))
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                              autoescape=False, trim_blocks=True, **options)
