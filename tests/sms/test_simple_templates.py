"""Templates rendered without Jinja2's runtime give exactly Jinja2's text, or are left to it."""

from __future__ import annotations

import itertools

import jinja2
import pytest

from deadline_watch.core.config import Settings
from deadline_watch.sms.messages import PACKAGE_TEMPLATES, _environment, clear_template_cache, render_sms
from deadline_watch.sms.simple_templates import compile_simple

PACKAGED = sorted(path.name for path in PACKAGE_TEMPLATES.glob("*.j2"))


def values(link: object, contact: object) -> dict[str, object]:
    names = ("signature", "name", "project", "code", "node", "due", "remaining", "overdue", "level", "unit",
             "owner", "reason", "passcode", "minutes", "person_name", "days_left")
    return {**{name: f"<{name}>" for name in names}, "days_left": 0, "level": None, "link": link, "contact": contact}


@pytest.mark.parametrize("name", PACKAGED)
def test_every_packaged_template_is_simple_and_renders_like_jinja(name):
    environment = _environment(None)
    simple = compile_simple(environment, name)
    assert simple is not None
    for link, contact in itertools.product(("", "https://x.example/m/t", None, 0), ("", "督查室 028-1", None)):
        assert simple(values(link, contact)) == environment.get_template(name).render(**values(link, contact))


def test_a_missing_variable_is_left_to_jinja_to_name():
    simple = compile_simple(_environment(None), "reminder.j2")
    assert simple is not None and simple({"signature": "x"}) is None


@pytest.mark.parametrize("source", [
    "{{ name|upper }}", "{{ days_left + 1 }}", "{% if days_left > 3 %}x{% endif %}", "{% for c in name %}{{ c }}{% endfor %}",
    "{{ range }}", "{% set x = 1 %}{{ x }}",
])
def test_anything_but_printing_and_testing_variables_is_left_to_jinja(source):
    environment = jinja2.Environment(loader=jinja2.DictLoader({"t.j2": source}), undefined=jinja2.StrictUndefined)
    assert compile_simple(environment, "t.j2") is None or compile_simple(environment, "t.j2")({}) is None


def test_an_override_with_a_filter_still_renders_through_jinja(tmp_path):
    (tmp_path / "reminder.j2").write_text("{{ signature }}{{ person_name|replace('王', '汪') }}:{{ code }}\n", "utf-8")
    clear_template_cache()
    try:
        settings = Settings.model_validate({"sms": {"templates_dir": str(tmp_path)}})
        rendered = render_sms("reminder", settings, person_name="王伟", project_name="P", project_code="GX-1",
                              milestone="m", due_date_text="d", days_left=1, day_unit="天")
        assert rendered.body == "【高新区督办】汪伟:GX-1"
    finally:
        clear_template_cache()


@pytest.mark.parametrize("source", [
    "", "plain {text} with braces }{ and {{ '{' }}x", "{{ a }}", "{a}{{ a }}{{ b }}}",
    "{% if a %}{% elif b %}B{{ b }}{% else %}E{% endif %}!", "{% if b %}{{ a }}{% endif %}{% if a %}[{{ b }}]{% endif %}\n",
])
def test_simple_sources_render_like_jinja(source):
    environment = jinja2.Environment(loader=jinja2.DictLoader({"t.j2": source}), undefined=jinja2.StrictUndefined,
                                     trim_blocks=True)
    simple = compile_simple(environment, "t.j2")
    for a, b in itertools.product(("", "x{y}", 0, None), ("", "中", 7)):
        expected = environment.get_template("t.j2").render(a=a, b=b)
        assert simple is None or simple({"a": a, "b": b}) == expected
    assert simple is not None or "'{'" in source
