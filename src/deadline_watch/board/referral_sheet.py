"""线索移交单: one referral as a printable sheet — the rows the HTML print view and the
.docx (python-docx) both show, built once from the referral's facts."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from deadline_watch.domain import labels
from deadline_watch.domain.models import Referral

TITLE = "线索移交单"


@dataclass(frozen=True)
class SheetLine:
    at: str
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class ReferralSheet:
    number: str
    fields: list[tuple[str, str]]
    notes: str
    history: list[SheetLine]
    state: str
    outcome: str


def _when(text: str | None, tz: tzinfo) -> str:
    if not text:
        return "—"
    return datetime.fromisoformat(text).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _detail(after: Mapping) -> str:
    parts = []
    if after.get("resolution"):
        parts.append(labels.RESOLUTION.get(after["resolution"], "其他"))
    if after.get("level"):
        parts.append(labels.level_text(after["level"]))
    if after.get("note"):
        parts.append(str(after["note"]))
    return ";".join(parts)


def build_sheet(referral: Referral, *, tz: tzinfo, people: Mapping[str, tuple[str, str]],
                show_mobiles: bool = True) -> ReferralSheet:
    """The sheet's content; `people` names board users (labels.actor_text)."""
    facts = referral.facts or {}

    def mobile(value: str | None) -> str:
        if not value:
            return ""
        return f" {value}" if show_mobiles else ""

    levels = "、".join(labels.level_text(level) for level in facts.get("levels_reached", [])) or "—"
    fields = [
        ("项目", f"{facts.get('project_code', '')} {facts.get('project_name', '')}"),
        ("节点", str(facts.get("milestone", ""))),
        ("责任单位", str(facts.get("unit", ""))),
        ("责任人", f"{facts.get('owner', '')}{mobile(facts.get('owner_mobile'))}"),
        ("牵头领导", f"{facts.get('lead_leader') or '—'}{mobile(facts.get('lead_leader_mobile'))}"),
        ("截止日期", str(facts.get("due_date", ""))),
        ("逾期天数", f"{facts.get('days_overdue', referral.days_overdue)} 天"),
        ("督办级别", levels),
        ("督办短信", f"发出 {facts.get('sms_sent', 0)} 条,送达 {facts.get('sms_delivered', 0)} 条"),
        ("节点状态", labels.MILESTONE_STATUS.get(str(facts.get("milestone_status", "")), "—")),
        ("督办生成", _when(facts.get("opened_at"), tz)),
        ("移交时间", referral.referred_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")),
        ("移交人", labels.actor_text(referral.referred_by, people)),
    ]
    history = [
        SheetLine(_when(item.get("at"), tz), labels.actor_text(item.get("actor"), people),
                  labels.action_text(str(item.get("action", ""))), _detail(item.get("after") or {}))
        for item in facts.get("history", [])
    ]
    return ReferralSheet(
        number=f"移字〔{referral.referred_at.astimezone(tz).year}〕{referral.id}号",
        fields=fields,
        notes=str(facts.get("notes") or ""),
        history=history,
        state=labels.REFERRAL_STATE.get(referral.state, referral.state),
        outcome=referral.outcome or "",
    )


def sheet_docx(sheet: ReferralSheet) -> bytes:
    """The sheet as a Word document (A4, a facts table, the history, the answer)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    normal = document.styles["Normal"]
    normal.font.name = "宋体"
    normal.font.size = Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")

    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(TITLE)
    run.bold = True
    run.font.size = Pt(22)
    number = document.add_paragraph(sheet.number)
    number.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in sheet.fields:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
        cells[0].width, cells[1].width = Cm(3.5), Cm(12.5)

    document.add_paragraph()
    document.add_paragraph("督办备注").runs[0].bold = True
    document.add_paragraph(sheet.notes or "无")

    document.add_paragraph("处置记录").runs[0].bold = True
    history = document.add_table(rows=1, cols=4)
    history.style = "Table Grid"
    for cell, title in zip(history.rows[0].cells, ("时间", "操作人", "操作", "内容"), strict=True):
        cell.text = title
    for line in sheet.history:
        cells = history.add_row().cells
        cells[0].text, cells[1].text, cells[2].text, cells[3].text = line.at, line.actor, line.action, line.detail

    document.add_paragraph()
    document.add_paragraph(f"办理状态:{sheet.state}")
    document.add_paragraph(f"反馈结果:{sheet.outcome or '(待反馈)'}")
    document.add_paragraph()
    document.add_paragraph("移交单位(盖章):              接收单位(签收):")
    document.add_paragraph("日期:    年  月  日              日期:    年  月  日")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
