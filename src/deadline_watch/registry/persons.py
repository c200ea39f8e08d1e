"""The contacts list as persons: `persons import FILE` and `persons list`.

Admins keep the office's 通讯录 in the product on its own, so a 责任分解表 that names people
without mobiles finds them. A person is matched by mobile: a new mobile is a new person; a
known mobile under another name is renamed (audited). One mobile with two names in the file
is an error naming both rows, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.domain import audit
from deadline_watch.domain.models import Person, Unit
from deadline_watch.registry.contacts import Contact, Directory
from deadline_watch.registry.report import ImportReport


@dataclass
class PersonsResult:
    created: int = 0
    renamed: int = 0
    unchanged: int = 0
    changes: list[str] = field(default_factory=list)


def check_directory(directory: Directory, report: ImportReport) -> list[Contact]:
    """One contact per mobile; a mobile listed under two names is an error."""
    by_mobile: dict[str, Contact] = {}
    for contacts in directory.by_name.values():
        for contact in contacts:
            first = by_mobile.get(contact.mobile)
            if first is None:
                by_mobile[contact.mobile] = contact
            elif first.name != contact.name:
                report.add_error(
                    contact.line, f"{directory.source}:手机", contact.mobile,
                    f"同一手机号对应两个姓名: 第 {first.line} 行为 {first.name},第 {contact.line} 行为 {contact.name}",
                    f"one mobile, two names: line {first.line} says {first.name}, line {contact.line} says {contact.name}",
                )
    return sorted(by_mobile.values(), key=lambda contact: contact.line)


def import_persons(session: Session, contacts: list[Contact], *, now: datetime, actor: str) -> PersonsResult:
    """Create or rename persons from checked contacts, inside the caller's transaction."""
    result = PersonsResult()
    units = {name: unit_id for name, unit_id in session.execute(select(Unit.name, Unit.id))}
    known = {person.mobile: person for person in session.scalars(select(Person).where(Person.mobile.is_not(None)))}
    for contact in contacts:
        person = known.get(contact.mobile)
        if person is None:
            person = Person(name=contact.name, mobile=contact.mobile, unit_id=units.get(contact.unit), roles="",
                            created_at=now)
            session.add(person)
            session.flush()
            known[contact.mobile] = person
            audit.record(session, now=now, actor=actor, action="person.created", entity_type="person",
                         entity_id=person.id, after={"name": contact.name, "mobile": contact.mobile})
            result.created += 1
            result.changes.append(f"新增 created: {contact.name} {contact.mobile}")
        elif person.name != contact.name:
            audit.record(session, now=now, actor=actor, action="person.updated", entity_type="person",
                         entity_id=person.id, before={"name": person.name}, after={"name": contact.name})
            result.changes.append(f"更名 renamed: {person.name} → {contact.name} ({contact.mobile})")
            person.name = contact.name
            result.renamed += 1
        else:
            result.unchanged += 1
    return result


def list_persons(session: Session) -> list[tuple[str, str | None, str, str]]:
    """(name, mobile, unit, roles) of every person, by name."""
    rows = session.execute(
        select(Person.name, Person.mobile, Unit.name, Person.roles)
        .outerjoin(Unit, Unit.id == Person.unit_id)
        .order_by(Person.name, Person.mobile)
    )
    return [(name, mobile, unit or "", roles or "") for name, mobile, unit, roles in rows]
