"""Personal links in SMS: one per person, stored as a hash, valid after the last SMS, revocable."""

from datetime import date, timedelta

import sqlalchemy as sa

import factories as f
from deadline_watch.core import db
from deadline_watch.domain import links
from deadline_watch.domain.models import AuditEvent, Notification, Person, PersonLink
from deadline_watch.officials.links import check_link, fresh_link
from deadline_watch.sms.segments import count_segments
from deadline_watch.watch.service import scan_and_enqueue
from watch_support import at, fast_settings

DUE = date(2026, 12, 8)
PUBLIC = "https://dub.example.gov.cn"


def linked_settings(**more):
    return fast_settings(web__public_url=PUBLIC, web__secret_key="k" * 40, **more)


def seed(sessions, *, leader=True):
    with db.transaction(sessions) as session:
        owner = f.person(session, "王责任", "+8613912340001")
        lead = f.person(session, "李领导", "+8613912340002", roles="lead_leader") if leader else None
        project = f.project(session, owner=owner, lead_leader=lead)
        milestone = f.milestone(session, DUE, project_=project)
        return milestone.id, owner.id, (lead.id if lead else None)


def token_of(body: str) -> str:
    assert f" {PUBLIC}/m/" in body, body
    return body.rsplit("/m/", 1)[1]


def test_reminder_ends_with_the_owners_link_stored_only_as_a_hash(sessions):
    milestone_id, owner_id, _ = seed(sessions)
    settings = linked_settings()
    now = at(DUE - timedelta(days=7), 9)
    with db.transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=now)
    with db.transaction(sessions) as session:
        (row,) = session.scalars(sa.select(Notification)).all()
        link_row = session.scalars(sa.select(PersonLink)).one()
        token = token_of(row.body)
        assert row.body.endswith(f"{PUBLIC}/m/{token}")
        assert len(token) >= 22 and row.segments <= 3 and row.segments == count_segments(row.body)
        assert link_row.person_id == owner_id and link_row.token_hash == links.token_hash(token)
        assert token not in (link_row.nonce, link_row.token_hash)
        assert link_row.last_sent_at == now


def test_no_link_without_public_url(sessions):
    seed(sessions)
    with db.transaction(sessions) as session:
        scan_and_enqueue(session, fast_settings(), now=at(DUE - timedelta(days=7), 9))
    with db.transaction(sessions) as session:
        (row,) = session.scalars(sa.select(Notification)).all()
        assert "/m/" not in row.body and session.scalar(sa.select(sa.func.count(PersonLink.id))) == 0


def test_escalation_links_owner_and_leader_not_supervisors_and_one_token_per_person(sessions):
    milestone_id, owner_id, lead_id = seed(sessions)
    settings = linked_settings()
    with db.transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=at(DUE - timedelta(days=7), 9))
        supervisor = f.person(session, "赵督查", "+8613912340003", roles="supervisor")
    with db.transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=at(DUE + timedelta(days=8), 9))
    with db.transaction(sessions) as session:
        rows = session.scalars(sa.select(Notification).order_by(Notification.id)).all()
        by_person = {}
        for row in rows:
            if row.recipient_id == supervisor.id:
                assert "/m/" not in row.body
            else:
                by_person.setdefault(row.recipient_id, set()).add(token_of(row.body))
                assert row.segments <= 3
    assert set(by_person) == {owner_id, lead_id}
    assert all(len(tokens) == 1 for tokens in by_person.values())  # the same link in every SMS
    assert by_person[owner_id] != by_person[lead_id]


def test_link_works_until_valid_days_after_the_last_sms_then_is_refused(sessions):
    _, owner_id, _ = seed(sessions, leader=False)
    settings = linked_settings()
    sent = at(DUE - timedelta(days=7), 9)
    with db.transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=sent)
        token = token_of(session.scalars(sa.select(Notification.body)).one())
    with db.transaction(sessions) as session:
        assert check_link(session, token, settings, now=sent + timedelta(days=29)).refused is None
        assert check_link(session, token, settings, now=sent + timedelta(days=30, hours=1)).refused == "expired"
        assert check_link(session, token[:-1] + ("A" if token[-1] != "A" else "B"), settings, now=sent).refused == "unknown"
    with db.transaction(sessions) as session:
        actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "person")).all()
    assert actions.count("link.used") == 1 and actions.count("link.refused") == 1


def test_mobile_change_and_revocation_refuse_the_old_link(sessions):
    _, owner_id, _ = seed(sessions, leader=False)
    settings = linked_settings()
    now = at(DUE - timedelta(days=7), 9)
    with db.transaction(sessions) as session:
        old = fresh_link(session, "139 1234 0001", settings, now=now).rsplit("/m/", 1)[1]
        assert check_link(session, old, settings, now=now).person_id == owner_id
        session.get(Person, owner_id).mobile = "+8613912349999"
        session.flush()
        assert check_link(session, old, settings, now=now).refused == "mobile_changed"
        new = fresh_link(session, "+8613912349999", settings, now=now).rsplit("/m/", 1)[1]
        assert new != old and check_link(session, new, settings, now=now).refused is None
        assert check_link(session, old, settings, now=now).refused == "unknown"
        links.revoke(session, owner_id, now=now, actor="admin", reason="removed")
        assert check_link(session, new, settings, now=now).refused == "revoked"
        rotated = fresh_link(session, "+8613912349999", settings, now=now, rotate=True).rsplit("/m/", 1)[1]
        assert rotated != new and check_link(session, rotated, settings, now=now).refused is None
