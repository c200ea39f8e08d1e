"""Board accounts: creation rules, argon2 passwords, lockout, API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

import factories
from deadline_watch.board import logins, users
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import NotFoundError
from deadline_watch.domain.models import AuditEvent, LoginFailures, Person

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_supervisor_with_mobile_becomes_a_supervisor_person(sessions):
    with transaction(sessions) as session:
        user = users.add_user(session, username="li.duban", role="supervisor", password="long-enough",
                              mobile="138 0013 8000", display_name="李督办", now=NOW)
        assert user.person.mobile == "+8613800138000"
        assert user.person.name == user.display_name == "李督办"  # SMS address the display name, not the login
        assert user.person.has_role("supervisor")
        assert user.password_hash.startswith("$argon2")
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "user.added")).one()


def test_existing_person_with_that_mobile_gains_the_supervisor_role(sessions):
    with transaction(sessions) as session:
        official = factories.person(session, name="赵主任", mobile="+8613800138001", roles="lead_leader")
        user = users.add_user(session, username="zhao", role="supervisor", password="long-enough",
                              mobile="+8613800138001", display_name="赵督查", now=NOW)
        assert user.person_id == official.id
        assert official.roles.split() == ["lead_leader", "supervisor"]
        assert len(session.scalars(select(Person)).all()) == 1


def test_admin_or_viewer_with_mobile_is_not_notified_as_supervisor(sessions):
    with transaction(sessions) as session:
        admin = users.add_user(session, username="admin", role="admin", password="long-enough",
                               mobile="13800138002", now=NOW)
        assert not admin.person.has_role("supervisor")


@pytest.mark.parametrize(
    ("username", "role", "password", "mobile"),
    [("a", "viewer", "long-enough", None), ("bob", "boss", "long-enough", None),
     ("bob", "viewer", "short", None), ("bob", "supervisor", "long-enough", "12345")],
)
def test_invalid_accounts_are_refused_with_a_message(sessions, username, role, password, mobile):
    with transaction(sessions) as session, pytest.raises(users.UserError) as raised:
        users.add_user(session, username=username, role=role, password=password, mobile=mobile, now=NOW)
    assert " / " in raised.value.message


def test_duplicate_username_is_refused(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="viewer", password="long-enough", now=NOW)
        with pytest.raises(users.UserError):
            users.add_user(session, username="bob", role="admin", password="long-enough", now=NOW)


def test_lock_of_a_name_and_address_doubles_after_each_further_failure_up_to_an_hour(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="viewer", password="long-enough", now=NOW)
    locks = []
    now = NOW
    for _ in range(12):
        with transaction(sessions) as session:
            assert not users.authenticate(session, username="bob", password="wrong", now=now, address="10.0.0.1").ok
            row = session.get(LoginFailures, f"user:{logins.name_digest('bob')}:10.0.0.1")
            if row.locked_until and row.locked_until > now:
                locks.append(row.locked_until - now)
                now = row.locked_until  # wait the lock out, then fail again
    assert locks[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(locks) == logins.LONGEST_LOCK
    with transaction(sessions) as session:
        assert users.authenticate(session, username="bob", password="long-enough", now=now, address="10.0.0.1").ok


def test_right_password_during_a_lock_is_still_refused_but_only_from_that_address(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="viewer", password="long-enough", now=NOW)
        for _ in range(logins.FAILURES_BEFORE_LOCK):
            users.authenticate(session, username="bob", password="wrong", now=NOW, address="10.0.0.1")
        result = users.authenticate(session, username="bob", password="long-enough", now=NOW, address="10.0.0.1")
        assert not result.ok and result.locked
        assert users.authenticate(session, username="bob", password="long-enough", now=NOW, address="10.0.0.2").ok


def test_api_token_is_stored_hashed_and_reissue_revokes_the_old_one(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="supervisor", password="long-enough", now=NOW)
        first = users.issue_api_token(session, username="bob", now=NOW)
        user = users.get_user(session, "bob")
        assert first not in (user.api_token_hash or "") and len(user.api_token_hash) == 64
        assert users.user_for_token(session, first).username == "bob"
        second = users.issue_api_token(session, username="bob", now=NOW)
        assert users.user_for_token(session, first) is None
        assert users.user_for_token(session, second).username == "bob"
        with pytest.raises(NotFoundError):
            users.issue_api_token(session, username="nobody", now=NOW)


def test_the_scan_counts_a_supervisor_account_with_mobile_among_supervisors(sessions):
    from deadline_watch.watch.load import supervisors

    with transaction(sessions) as session:
        users.add_user(session, username="sup", role="supervisor", password="long-enough",
                       mobile="13800138009", display_name="王督查", now=NOW)
        users.add_user(session, username="viewer", role="viewer", password="long-enough",
                       mobile="13800138010", now=NOW)
        found = supervisors(session)
        mobiles = {getattr(p, "mobile", None) for p in found}
        assert "+8613800138009" in mobiles and "+8613800138010" not in mobiles
        assert {p.name for p in found if p.mobile == "+8613800138009"} == {"王督查"}


def test_a_registry_person_who_becomes_a_supervisor_is_addressed_by_the_display_name(sessions):
    from deadline_watch.watch.load import supervisors

    with transaction(sessions) as session:
        factories.person(session, name="赵主任", mobile="+8613800138011", roles="lead_leader")
        users.add_user(session, username="zhao.login", role="supervisor", password="long-enough",
                       mobile="+8613800138011", display_name="赵督查", now=NOW)
        (found,) = supervisors(session)
    assert found.name == "赵督查"


def _events(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_deactivated_user_cannot_authenticate_or_use_a_token_until_reactivated(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="viewer", password="long-enough", now=NOW)
        token = users.issue_api_token(session, username="bob", now=NOW)
        assert users.set_active(session, username="bob", active=False, now=NOW, actor="cli:root") is True
        assert not users.authenticate(session, username="bob", password="long-enough", now=NOW).ok
        assert users.user_for_token(session, token) is None
        assert users.set_active(session, username="bob", active=False, now=NOW) is False
        [event] = _events(session, "user.deactivated")
        assert (event.actor, event.before, event.after) == ("cli:root", {"active": True}, {"active": False})
        assert users.set_active(session, username="bob", active=True, now=NOW) is True
        assert users.authenticate(session, username="bob", password="long-enough", now=NOW).ok
        assert len(_events(session, "user.activated")) == 1


def test_unlock_clears_the_lock_and_the_failure_count(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="viewer", password="long-enough", now=NOW)
        for _ in range(logins.FAILURES_BEFORE_LOCK):
            users.authenticate(session, username="bob", password="wrong", now=NOW, address="10.0.0.1")
        assert users.unlock(session, username="bob", now=NOW, actor="cli:root") is True
        assert session.scalars(select(LoginFailures)).all() == []
        [event] = _events(session, "user.unlocked")
        assert {(entry["key"], entry["failures"]) for entry in event.before["cleared"]} == {("user", 5), ("addr", 5)}
        assert users.authenticate(session, username="bob", password="long-enough", now=NOW, address="10.0.0.1").ok
        assert users.unlock(session, username="bob", now=NOW) is False  # nothing left to clear


def test_set_password_replaces_the_hash_and_keeps_it_out_of_the_audit_trail(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="viewer", password="long-enough", now=NOW)
        old_hash = users.get_user(session, "bob").password_hash
        users.set_password(session, username="bob", password="another-secret", now=NOW, actor="cli:root")
        user = users.get_user(session, "bob")
        assert user.password_hash != old_hash and user.password_hash.startswith("$argon2")
        assert not users.authenticate(session, username="bob", password="long-enough", now=NOW).ok
        assert users.authenticate(session, username="bob", password="another-secret", now=NOW).ok
        [event] = _events(session, "user.password_changed")
        assert event.actor == "cli:root" and event.before is None and event.after is None


def test_set_password_follows_the_rules_of_add_user(sessions):
    with transaction(sessions) as session:
        users.add_user(session, username="bob", role="viewer", password="long-enough", now=NOW)
        with pytest.raises(users.UserError) as raised:
            users.set_password(session, username="bob", password="short", now=NOW)
        assert " / " in raised.value.message
        assert users.authenticate(session, username="bob", password="long-enough", now=NOW).ok


@pytest.mark.parametrize("change", [
    lambda s: users.set_active(s, username="nobody", active=False, now=NOW),
    lambda s: users.unlock(s, username="nobody", now=NOW),
    lambda s: users.set_password(s, username="nobody", password="long-enough", now=NOW),
], ids=["set_active", "unlock", "set_password"])
def test_changing_an_unknown_user_raises_not_found(sessions, change):
    with transaction(sessions) as session, pytest.raises(NotFoundError) as raised:
        change(session)
    assert raised.value.exit_code == 1 and "nobody" in raised.value.message


def test_unknown_username_costs_one_verification_at_the_hashers_own_parameters(sessions, monkeypatch):
    checked: list[str] = []
    real_verify = users._verify

    def recording_verify(stored: str, password: str) -> bool:
        checked.append(stored)
        return real_verify(stored, password)

    monkeypatch.setattr(users, "_verify", recording_verify)
    with transaction(sessions) as session:
        assert not users.authenticate(session, username="nobody-here", password="whatever-1", now=NOW).ok
    [dummy] = checked
    # the dummy hash carries the cost of the hasher in use (the cheap test one here)
    assert "m=1024,t=1,p=1" in dummy

