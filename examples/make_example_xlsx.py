"""Write examples/registry_example.xlsx from registry_example_en.csv: Chinese headers, a
title row above them, real date cells and mobiles typed as numbers, as Excel users make it.

    .venv/bin/python examples/make_example_xlsx.py [OUT.xlsx]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from openpyxl import Workbook

from deadline_watch.registry.cells import parse_date
from deadline_watch.registry.columns import COLUMNS

HERE = Path(__file__).resolve().parent


def build(out: Path, source: Path = HERE / "registry_example_en.csv") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "重点项目清单"
    sheet.append(["2026年重点项目责任分解表"])
    sheet.append([column.zh for column in COLUMNS])
    with source.open(encoding="utf-8-sig", newline="") as stream:
        for record in csv.DictReader(stream):
            cells: list[object] = []
            for column in COLUMNS:
                value: object = record.get(column.key, "")
                if column.key in ("due_date", "completed_on") and value:
                    value = parse_date(value)  # a real date cell
                elif column.key == "owner_mobile" and str(value).isdigit():
                    value = int(value)  # a number cell, as Excel makes of a typed mobile
                cells.append(value)
            sheet.append(cells)
            for cell in sheet[sheet.max_row]:
                if cell.is_date:
                    cell.number_format = "yyyy-mm-dd"
    workbook.save(out)
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "registry_example.xlsx"))
