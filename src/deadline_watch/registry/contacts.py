"""The office's 通讯录: names to mobiles, for registries that list names only.

A contacts file (CSV or xlsx, or a sheet named 通讯录 in the registry's workbook) has the
columns 姓名 and 手机, optionally 单位 and 职务. A registry row whose person has no mobile
takes it from here, else from a person already known in the database by that name. A name
listed twice with different mobiles, or found nowhere, is an error naming the row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.domain.models import Person
from deadline_watch.registry.cells import CellError, cell_text, clean_person_name, clean_text, parse_mobile
from deadline_watch.registry.problems import FileProblem
from deadline_watch.registry.reader import Row
from deadline_watch.registry.report import ImportReport

CONTACTS_SHEET = "通讯录"
HEADER_SEARCH_ROWS = 20
_HEADERS = {
    "name": ("姓名", "名字", "name"),
    "mobile": ("手机", "手机号", "手机号码", "联系电话", "电话", "mobile"),
    "unit": ("单位", "所在单位", "工作单位", "unit"),
    "title": ("职务", "职位", "title"),
}
_KEY_OF = {alias: key for key, aliases in _HEADERS.items() for alias in aliases}


@dataclass(frozen=True)
class Contact:
    name: str
    mobile: str
    unit: str
    title: str
    line: int


@dataclass
class Directory:
    """Contacts by name, plus the persons the database already knows (name -> mobiles)."""

    source: str = CONTACTS_SHEET
    by_name: dict[str, list[Contact]] = field(default_factory=dict)
    known: dict[str, set[str]] = field(default_factory=dict)

    def add(self, contact: Contact) -> None:
        self.by_name.setdefault(contact.name, []).append(contact)

    def mobile_of(self, name: str) -> str:
        """The one mobile for `name`; CellError (Chinese and English) when there is none or two."""
        listed = self.by_name.get(name, [])
        mobiles = {contact.mobile for contact in listed}
        if len(mobiles) == 1:
            return mobiles.pop()
        if len(mobiles) > 1:
            where = "、".join(f"第 {c.line} 行 {c.mobile}" for c in listed)
            raise CellError(
                f"{self.source}中 {name} 有不同的手机号({where}),无法确定",
                f"{name} has different mobiles in the contacts ({where})",
            )
        known = self.known.get(name, set())
        if len(known) == 1:
            return next(iter(known))
        if len(known) > 1:
            raise CellError(
                f"系统中有多个名为 {name} 的人员,请在{self.source}中写明其手机号",
                f"several persons named {name} are known: give their mobile in the contacts",
            )
        raise CellError(
            f"找不到 {name} 的手机号: 请在{self.source}中补充,或在表中填写手机",
            f"no mobile for {name}: add them to the contacts or give the mobile in the sheet",
        )


def known_persons(session: Session) -> dict[str, set[str]]:
    """Persons already in the database, name -> their mobiles (they count as found)."""
    known: dict[str, set[str]] = {}
    for name, mobile in session.execute(select(Person.name, Person.mobile).where(Person.mobile.is_not(None))):
        known.setdefault(name, set()).add(mobile)
    return known


def read_contacts(rows: Iterable[Row], report: ImportReport, *, source: str = CONTACTS_SHEET) -> Directory:
    """Every contact row checked; problems go to `report` with the column named 通讯录:…"""
    directory = Directory(source=source)
    index: dict[str, int] | None = None
    try:
        for line, cells in rows:
            texts = [clean_text(cell) for cell in cells]
            if not any(texts):
                continue
            if index is None:
                found = {_KEY_OF[text]: position for position, text in enumerate(texts) if text in _KEY_OF}
                if "name" in found and "mobile" in found:
                    index = found
                elif line >= HEADER_SEARCH_ROWS:
                    break
                continue
            _read_row(directory, report, source, index, line, cells)
    except FileProblem as problem:
        report.add_error(problem.line, f"{source}", problem.value, problem.reason_zh, problem.reason_en)
        return directory
    if index is None:
        report.add_error(1, source, "", f"{source}中找不到含“姓名”和“手机”的标题行",
                         "the contacts have no header row naming 姓名 and 手机")
    return directory


def _read_row(directory: Directory, report: ImportReport, source: str, index: dict[str, int],
              line: int, cells: list[object]) -> None:
    def cell(key: str) -> object:
        position = index.get(key)
        return cells[position] if position is not None and position < len(cells) else None

    name = clean_person_name(cell("name"))
    raw_mobile = cell("mobile")
    if not name:
        report.add_error(line, f"{source}:姓名", "", "姓名为空", "the name is empty")
        return
    try:
        mobile = parse_mobile(raw_mobile)
    except CellError as exc:
        report.add_error(line, f"{source}:手机", cell_text(raw_mobile)[:100], exc.reason_zh, exc.reason_en)
        return
    directory.add(Contact(name, mobile, clean_text(cell("unit")), clean_text(cell("title")), line))
