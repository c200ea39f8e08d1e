"""carry_links reads and marks every holder's link with a fixed number of statements, and
stores exactly what the former one-person-at-a-time loop stored: same URLs, same
person_links rows, same audit events, whatever the order of the holders."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

import factories as f
from deadline_watch.core import db
from deadline_watch.core.secret_key import secret_key
from deadline_watch.domain import audit, links
from deadline_watch.domain.models import AuditEvent, PersonLink
from watch_support import at, fast_settings

PUBLIC = "https://dub.example.gov.cn"
BEFORE = at(date(2026, 12, 1), 9)
NOW = BEFORE + timedelta(days=3)
STORED, OTHER = "+8613912340000", "+8613999990000"


def _new_nonce(session, holder, key, *, now, old_nonce):
    """The former one-person issue of a nonce (insert, or compare-and-set on the old one)."""
    values = links._fresh_values(holder, key, now)
    if old_nonce is None:
        inserted = db.insert_ignore(session, PersonLink.__table__, [{"person_id": holder.person_id, **values}],
                                    "person_id")
    else:
        inserted = links._replace_nonce(session, holder.person_id, values, old_nonce)
    if inserted:
        audit.record(session, now=now, actor="system", action="link.issued", entity_type="person",
                     entity_id=holder.person_id, after={"mobile": holder.mobile})
        return values["nonce"]
    return session.execute(sa.select(PersonLink.nonce).where(PersonLink.person_id == holder.person_id)).scalar_one()


def per_person_carry(session, holders, settings, *, now, rotate=False):
    """The former carry_links: one SELECT and one UPDATE (or a new nonce) per person."""
    key = secret_key(settings)
    urls = {}
    for holder in sorted({h.person_id: h for h in holders}.values(), key=lambda h: h.person_id):
        row = session.execute(
            sa.select(PersonLink.nonce, PersonLink.mobile, PersonLink.revoked_at).where(
                PersonLink.person_id == holder.person_id
            )
        ).first()
        if row is None:
            nonce = _new_nonce(session, holder, key, now=now, old_nonce=None)
        elif rotate or row.revoked_at is not None or row.mobile != holder.mobile:
            nonce = _new_nonce(session, holder, key, now=now, old_nonce=row.nonce)
        else:
            nonce = row.nonce
            session.execute(
                sa.update(PersonLink).where(PersonLink.person_id == holder.person_id).values(last_sent_at=now)
                .execution_options(synchronize_session=False)
            )
        urls[holder.person_id] = links.link_url(settings.web.public_url, links.derive_token(key, holder.person_id, nonce))
    return urls


@pytest.fixture
def numbered_nonces(monkeypatch):
    """Nonces 'n-1', 'n-2', ...; calling the fixture restarts them at 'n-1000', so two runs
    draw the same ones (and none that the seeding drew)."""
    counter = [itertools.count(1)]
    monkeypatch.setattr(links.secrets, "token_urlsafe", lambda _bytes: f"n-{next(counter[0])}")
    return lambda: counter.__setitem__(0, itertools.count(1000))


def seed(sessions, settings):
    """Persons: 0 without a link, 1 kept, 2 revoked, 3 mobile changed, 4 and 5 listed twice."""
    with db.transaction(sessions) as session:
        people = [f.person(session, f"官员{i}", f"+86139123400{i:02d}").id for i in range(8)]
        links.carry_links(session, [links.LinkHolder(p, STORED) for p in people[1:]], settings, now=BEFORE)
        links.revoke(session, people[2], now=BEFORE, actor="admin", reason="removed")
    holders = [
        links.LinkHolder(people[0], STORED),
        links.LinkHolder(people[1], STORED),
        links.LinkHolder(people[2], STORED),
        links.LinkHolder(people[3], OTHER),
        links.LinkHolder(people[4], STORED), links.LinkHolder(people[4], STORED),  # kept, twice
        links.LinkHolder(people[5], STORED), links.LinkHolder(people[5], OTHER),  # the last mobile counts
        links.LinkHolder(people[6], OTHER), links.LinkHolder(people[6], STORED),  # ... here the stored one
        links.LinkHolder(people[7], STORED),
    ]
    return people, holders


def outcome(sessions, carry, holders, settings, *, rotate):
    """What `carry` returns and stores, rolled back afterwards (rows without their serial id,
    audit events in the order written)."""
    with sessions() as session, session.begin():
        first_event = db.max_id(session, AuditEvent.__table__)
        urls = carry(session, holders, settings, now=NOW, rotate=rotate)
        session.flush()
        rows = session.execute(
            sa.select(*(c for c in PersonLink.__table__.c if c.name != "id")).order_by(PersonLink.person_id)
        ).all()
        events = session.execute(
            sa.select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity_type,
                      AuditEvent.entity_id, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.id > first_event).order_by(AuditEvent.id)
        ).all()
        session.rollback()
    return list(urls.items()), rows, events


@pytest.mark.parametrize("rotate", [False, True])
def test_set_based_carry_stores_what_the_per_person_loop_stored(sessions, numbered_nonces, rotate):
    settings = fast_settings(web__public_url=PUBLIC, web__secret_key="k" * 40)
    people, holders = seed(sessions, settings)
    numbered_nonces()
    expected = outcome(sessions, per_person_carry, holders, settings, rotate=rotate)
    urls, rows, events = expected
    assert [person for person, _ in urls] == people
    issued = {event.entity_id for event in events if event.action == "link.issued"}
    assert issued == (set(people) if rotate else {people[0], people[2], people[3], people[5]})
    assert sum(row.last_sent_at == NOW for row in rows) == len(people)
    for shuffle in range(3):
        shuffled = holders[:]
        random.Random(shuffle).shuffle(shuffled)
        # order-independent only up to who is listed last for a person: keep those pairs in order
        shuffled.sort(key=lambda h: holders.index(h) if h.person_id in (people[5], people[6]) else -1)
        numbered_nonces()
        assert outcome(sessions, links.carry_links, shuffled, settings, rotate=rotate) == expected


@pytest.mark.parametrize("with_first_links", [False, True])
def test_kept_and_first_links_take_a_statement_each_however_many_holders(sessions, engine, with_first_links):
    settings = fast_settings(web__public_url=PUBLIC, web__secret_key="k" * 40)
    people, _ = seed(sessions, settings)
    if with_first_links:
        with db.transaction(sessions) as session:
            people += [f.person(session, f"新官员{i}", f"+86139888800{i:02d}").id for i in range(3)]
    kept = [links.LinkHolder(p, STORED) for p in people[4:]]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    with db.transaction(sessions) as session:
        session.connection()  # the transaction's BEGIN is not counted
        event.listen(engine, "before_cursor_execute", listener)
        try:
            urls = links.carry_links(session, kept, settings, now=NOW)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert list(urls) == people[4:]
    # one SELECT of the links, one INSERT of the first ones, one UPDATE of last_sent_at
    # (the audit events are flushed with the others at commit)
    assert len(statements) == (3 if with_first_links else 2), statements
    with db.transaction(sessions) as session:
        sent = dict(session.execute(sa.select(PersonLink.person_id, PersonLink.last_sent_at)).all())
    assert [person for person, instant in sorted(sent.items()) if instant == NOW] == people[4:]


@pytest.mark.parametrize("first", [True, False])
def test_a_racing_scan_that_issued_first_wins(sessions, engine, numbered_nonces, first):
    """Between the SELECT and the write another scan gives the person a link (`first`: the
    person had none; else: it replaced theirs): its nonce is the link, no second event."""
    settings = fast_settings(web__public_url=PUBLIC, web__secret_key="k" * 40)
    people, _ = seed(sessions, settings)
    person = people[0] if first else people[3]
    other = links.LinkHolder(people[1], OTHER)  # issued here, beside the lost one

    def racing_scan(connection, cursor, statement, parameters, context, executemany):
        replacing = statement.startswith("UPDATE person_links") and "AND person_links.nonce =" in statement
        if statement.startswith("INSERT INTO person_links") if first else replacing:
            mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
            if first:
                cursor.execute("INSERT INTO person_links (person_id, token_hash, nonce, mobile, created_at,"
                               f" last_sent_at) VALUES ({mark}, 'raced', 'raced', {mark}, {mark}, {mark})",
                               (person, OTHER, "2026-12-01 00:00:00", "2026-12-01 00:00:00"))
            else:
                cursor.execute(f"UPDATE person_links SET nonce = 'raced' WHERE person_id = {mark}", (person,))

    with db.transaction(sessions) as session:
        first_event = db.max_id(session, AuditEvent.__table__)
        event.listen(engine, "before_cursor_execute", racing_scan)
        try:
            urls = links.carry_links(session, [links.LinkHolder(person, OTHER), other], settings, now=NOW)
        finally:
            event.remove(engine, "before_cursor_execute", racing_scan)
        issued = session.scalars(sa.select(AuditEvent.entity_id).where(AuditEvent.id > first_event)).all()
        nonce = session.scalar(sa.select(PersonLink.nonce).where(PersonLink.person_id == person))
    assert nonce == "raced" and urls[person] == links.link_url(PUBLIC, links.derive_token("k" * 40, person, "raced"))
    assert issued == [people[1]]
