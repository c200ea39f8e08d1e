"""Building 责任分解表 sheets and 通讯录 files as offices circulate them, for the tests."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

# 2026-12-01 10:00 in Beijing: the sheets are for 2027
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
HEADER = ["序号", "重点任务", "牵头领导", "主办单位", "协办单位", "责任人", "完成时限", "具体措施"]
TASKS = [
    ["1", "推进天府软件园三期主体建设", "郭刚", "新经济发展局", "规划和自然资源局、住房和城乡建设局", "杜萍明",
     "6月底前", "倒排工期,每周调度"],
    ["2", "完成人工智能产业基金设立", "郭刚", "金融工作局", "", "李静", "3月15日前", ""],
    ["3", "建成社区养老服务中心12个", "王敏", "社区发展治理局", "卫生健康局", "张伟", "一季度末", ""],
    ["4", "报送重点项目推进情况", "王敏", "新经济发展局", "", "杜萍明", "每月25日前", "按月报送"],
    ["5", "优化营商环境", "郭刚", "行政审批局", "各相关部门", "陈晨", "长期坚持", ""],
]
CONTACTS = [
    ["姓名", "手机", "单位", "职务"],
    ["郭刚", "18900009807", "区政府", "副区长"],
    ["王敏", "18900001234", "区政府", "副区长"],
    ["杜萍明", "19800006866", "新经济发展局", "科长"],
    ["李静", "13800001111", "金融工作局", "科员"],
    ["张伟", "13800002222", "社区发展治理局", "科长"],
    ["陈晨", "13800003333", "行政审批局", "科长"],
]


def office_csv(tasks: list[list[str]] = TASKS, *, title: str | None = "2027年重点工作责任分解表",
               header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    if title:
        writer.writerow([title])
    writer.writerow(header)
    writer.writerows(tasks)
    return buffer.getvalue().encode("utf-8-sig")


def contacts_csv(rows: list[list[str]] = CONTACTS) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("gb18030")


def office_xlsx(path: Path, tasks: list[list[str]] = TASKS, *, header: list[str] = HEADER,
                contacts: list[list[str]] | None = CONTACTS) -> Path:
    """A workbook as an office sends it: a merged title row, the table, and a 通讯录 sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "责任分解表"
    sheet.append(["2027年重点工作责任分解表"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    for task in tasks:
        sheet.append(task)
    if contacts is not None:
        book = workbook.create_sheet("通讯录")
        for row in contacts:
            book.append(row)
    workbook.save(path)
    return path
