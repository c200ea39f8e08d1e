"""Every SMS that carries an official's link stays within 3 segments (measured here)."""

import pytest

from deadline_watch.core.config import Settings
from deadline_watch.sms.messages import LINKED_TEMPLATES, render_sms, segment_limit
from deadline_watch.sms.segments import count_segments

PUBLIC = "https://dubanpingtai.gaoxinqu.example.gov.cn"
LINK = PUBLIC + "/m/" + "x" * 24
CONTEXT = dict(
    person_name="欧阳建国", project_code="GX-2026-0001", milestone="验收结项（第二阶段）", unit="成都高新区新经济发展局(成都高新区数字经济产业发展服务中心)",
    owner_name="司马相如", due_date_text="2026年12月18日", day_unit="个工作日", days_left=12, days_overdue=128,
    level=2, level_text="二级", reason="佐证材料不完整，请补充竣工验收报告扫描件后重新申报。", date_text="2026年12月18日",
)
LONG_NAME = "成都高新区天府软件园三期暨数字经济产业园核心区基础设施及配套公共服务设施建设项目"


@pytest.mark.parametrize("template", sorted(LINKED_TEMPLATES))
def test_template_with_link_fits_three_segments_and_keeps_the_whole_link(template):
    settings = Settings.model_validate({"web": {"public_url": PUBLIC}, "sms": {"contact": "督查室 028-85123456"}})
    rendered = render_sms(template, settings, **CONTEXT, project_name=LONG_NAME, link=LINK)
    assert rendered.body.endswith(" " + LINK)
    assert rendered.segments == count_segments(rendered.body) <= 3
    short = render_sms(template, settings, **CONTEXT, project_name="科学城污水厂扩建", link=LINK)
    assert short.segments <= 3 and short.body.endswith(LINK)
    print(f"{template}: {short.segments} segments ({len(short.body)} chars) with a short name, "
          f"{rendered.segments} with a long one")


def test_without_link_the_templates_keep_the_configured_limit():
    settings = Settings()
    for template in sorted(LINKED_TEMPLATES):
        rendered = render_sms(template, settings, **CONTEXT, project_name=LONG_NAME)
        assert "/m/" not in rendered.body and rendered.segments <= segment_limit(template, settings)
