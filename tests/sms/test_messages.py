from datetime import date

import pytest

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.sms.messages import clear_template_cache, date_text, render_sms
from deadline_watch.sms.segments import count_segments


def reminder(settings: Settings, project_name: str = "天府软件园三期建设", days_left: int = 7):
    return render_sms(
        "reminder",
        settings,
        person_name="王伟",
        project_name=project_name,
        project_code="GX-2026-0001",
        milestone="组织实施",
        due_date_text=date_text(date(2026, 12, 8)),
        days_left=days_left,
        day_unit="天",
    )


def test_reminder_reads_like_the_product_brief():
    body = reminder(Settings()).body
    assert body == (
        "【高新区督办】王伟同志:您负责的“天府软件园三期建设”项目(GX-2026-0001)“组织实施”节点将于2026年12月8日到期,"
        "剩余7天,请按期完成并上传佐证资料。"
    )


def test_contact_of_the_supervision_office_ends_the_message():
    settings = Settings.model_validate({"sms": {"contact": "督查室 028-12345678"}})
    assert reminder(settings).body.endswith("请按期完成并上传佐证资料。如有疑问请联系督查室 028-12345678。")


def test_signature_comes_from_config():
    settings = Settings.model_validate({"sms": {"signature": "【测试签名】"}})
    assert reminder(settings).body.startswith("【测试签名】王伟同志")


def test_due_today_says_so_instead_of_zero_days():
    assert "今天是截止日" in reminder(Settings(), days_left=0).body


def test_long_project_name_is_shortened_with_ellipsis_and_date_kept():
    settings = Settings.model_validate({"sms": {"max_segments": 2}})
    rendered = reminder(settings, project_name="天府国际生物城" * 30)
    assert rendered.segments <= 2 and rendered.segments == count_segments(rendered.body)
    assert "…”项目" in rendered.body
    assert "2026年12月8日" in rendered.body and "剩余7天" in rendered.body


def test_name_that_fits_is_not_shortened():
    rendered = reminder(Settings.model_validate({"sms": {"max_segments": 2}}), project_name="天府国际生物城" * 4)
    assert "…" not in rendered.body and "天府国际生物城" * 4 in rendered.body


def test_limit_too_small_for_the_fixed_text_keeps_the_shortest_name_and_counts_it():
    rendered = reminder(Settings.model_validate({"sms": {"max_segments": 1}}), project_name="天府软件园三期建设工程项目")
    assert "“天…”项目" in rendered.body and "2026年12月8日" in rendered.body
    assert rendered.segments == count_segments(rendered.body) == 2


def test_templates_dir_overrides_a_packaged_template(tmp_path):
    (tmp_path / "reminder.j2").write_text("{{ signature }}{{ person_name }}:{{ project_name }} 还有{{ days_left }}天", "utf-8")
    clear_template_cache()
    settings = Settings.model_validate({"sms": {"templates_dir": str(tmp_path)}})
    assert reminder(settings).body == "【高新区督办】王伟:天府软件园三期建设 还有7天"


def test_undefined_variable_in_a_template_is_a_config_error(tmp_path):
    (tmp_path / "reminder.j2").write_text("{{ person_nmae }}", "utf-8")
    clear_template_cache()
    with pytest.raises(ConfigError):
        reminder(Settings.model_validate({"sms": {"templates_dir": str(tmp_path)}}))
