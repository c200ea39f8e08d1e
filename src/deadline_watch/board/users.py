"""Board accounts: creating users, checking passwords (argon2) through the login throttle, API tokens,
and the admin's changes to an account (deactivate/activate, unlock, new password).

A supervisor given a mobile is linked to a Person carrying the role word "supervisor", so
the scan notifies them at escalation level 2 like any other supervisor.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.board import logins
from deadline_watch.core.errors import DeadlineWatchError, NotFoundError
from deadline_watch.domain import audit
from deadline_watch.domain.models import Person, User, UserRole
from deadline_watch.domain.phones import MobileError, normalize_mobile

USERNAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,64}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
DISPLAY_NAME_MAX = 35  # an SMS template variable holds at most 35 characters (Aliyun)

_hasher = PasswordHasher()
# (hasher, hash) checked against when the username is unknown, so both paths cost one argon2
# verification at the hasher's parameters; made on first use (tests swap in a cheap hasher).
_dummy: tuple[PasswordHasher, str] | None = None


class UserError(DeadlineWatchError):
    """A user cannot be created or changed as asked."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def hash_token(token: str) -> str:
    """API tokens are random and long, so a plain SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


def _stored_mobile(mobile: str) -> str:
    try:
        return normalize_mobile(mobile)
    except MobileError as error:
        raise UserError(f"手机号无效: {mobile}({error.reason_zh})", f"invalid mobile number: {mobile} ({error.reason_en})") from None


def add_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    mobile: str | None = None,
    display_name: str | None = None,
    now: datetime,
    actor: str = "cli",
) -> User:
    """Create a board account; with a mobile, link (or create) the Person behind it.
    `display_name` is how the board names the account in histories (张督办).

    SMS and the board address the user by `display_name`, never by the login name, so a
    supervisor who is notified by SMS (one with a mobile) must have one.
    """
    username = username.strip()
    if not USERNAME.match(username):
        raise UserError(
            f"用户名无效: {username!r}(2-64 个字母、数字、汉字或 _ . -)",
            f"invalid username: {username!r} (2-64 letters, digits, CJK or _ . -)",
        )
    if role not in {r.value for r in UserRole}:
        raise UserError(
            f"角色无效: {role}(可选 admin、supervisor、viewer)",
            f"invalid role: {role} (choose admin, supervisor or viewer)",
        )
    check_password_rules(password)
    display_name = (display_name or "").strip() or None
    if display_name is not None and len(display_name) > DISPLAY_NAME_MAX:
        raise UserError(
            f"显示名称最多 {DISPLAY_NAME_MAX} 个字符", f"the display name has at most {DISPLAY_NAME_MAX} characters"
        )
    if mobile:
        _stored_mobile(mobile)  # an invalid number is refused as such, whatever else is missing
    if role == UserRole.SUPERVISOR and mobile and display_name is None:
        raise UserError(
            "接收短信的督办员需要显示名称 (--display-name,如 \"王督查\"),短信不使用登录名",
            "a supervisor who receives SMS needs a display name (--display-name, e.g. \"王督查\"); "
            "SMS never use the login name",
        )
    if find_user(session, username):
        raise UserError(f"用户已存在: {username}", f"user already exists: {username}")
    person = _person_for(session, name=display_name or username, role=role, mobile=mobile, now=now) if mobile else None
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        person=person,
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        now=now,
        actor=actor,
        action="user.added",
        entity_type="user",
        entity_id=user.id,
        after={
            "username": username,
            "display_name": display_name,
            "role": role,
            "person_id": person.id if person else None,
        },
    )
    return user


def check_password_rules(password: str) -> None:
    """At least MIN_PASSWORD_LENGTH characters, not digits only, no control characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符", f"password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(
            f"密码最多 {MAX_PASSWORD_LENGTH} 个字符", f"password may have at most {MAX_PASSWORD_LENGTH} characters"
        )
    if password.isdigit():
        raise UserError("密码不能全是数字,请加入字母或符号",
                        "a password of digits only is too easy to guess: add letters or symbols")
    if any(ord(char) < 32 or ord(char) == 127 for char in password):
        raise UserError("密码不能含控制字符", "a password may not contain control characters")


def _person_for(session: Session, *, name: str, role: str, mobile: str, now: datetime) -> Person:
    number = _stored_mobile(mobile)
    person = session.scalars(select(Person).where(Person.mobile == number)).first()
    if person is None:
        person = Person(name=name, mobile=number, roles="", created_at=now)
        session.add(person)
    if role == UserRole.SUPERVISOR and not person.has_role("supervisor"):
        person.roles = " ".join([*person.roles.split(), "supervisor"])
    session.flush()
    return person


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    locked: bool = False  # for tests and the audit trail; the board never says so

    @property
    def ok(self) -> bool:
        return self.user is not None


def authenticate(session: Session, *, username: str, password: str, now: datetime,
                 address: str = "local") -> LoginResult:
    """Check a password against the throttle (per name and address, see board.logins).

    An unknown or inactive name, a wrong password and a locked pair cost the same (one argon2
    verification and one counted failure) and give the same result, so the answer tells a
    stranger nothing about which names exist or are locked."""
    name = username.strip()
    user = find_user(session, name) if len(name) <= 64 else None
    waiting = logins.locked(session, username=name, address=address, now=now)
    usable = user is not None and user.active and not waiting
    verified = _verify(user.password_hash if usable and user else _dummy_hash(), password)
    if usable and verified and user is not None:
        logins.record_success(session, username=name, address=address)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return LoginResult(user)
    logins.record_failure(session, username=name, address=address, now=now)
    return LoginResult(None, locked=waiting)


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("deadline-watch-no-such-user"))
    return _dummy[1]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"用户不存在: {username}", f"no such user: {username}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def issue_api_token(session: Session, *, username: str, now: datetime, actor: str = "cli") -> str:
    """A new random API token for the user (replacing any earlier one); only its hash is kept."""
    user = get_user(session, username)
    token = "dw_" + secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    audit.record(
        session, now=now, actor=actor, action="user.token_issued", entity_type="user", entity_id=user.id
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.scalars(select(User).where(User.api_token_hash == hash_token(token))).first()
    return user if user is not None and user.active else None


# The board's session cookie carries a fingerprint of the password hash and is refused for an
# inactive user (web.auth.load_viewer), so the changes below end existing sessions by
# changing exactly those two fields; nothing else has to be told.


def set_active(session: Session, *, username: str, active: bool, now: datetime, actor: str = "cli") -> bool:
    """Deactivate or reactivate an account; False when it already was in that state.

    An inactive user cannot log in, and their session cookies and API token stop working at
    once and for good: deactivation bumps the session epoch (old cookies never come back)
    and revokes the API token (issue a new one with `users token` after reactivating).
    """
    user = get_user(session, username)
    if user.active == active:
        return False
    user.active = active
    if not active:
        user.session_epoch = (user.session_epoch or 0) + 1
        user.api_token_hash = None
        logins.end_user_sessions(session, user.id)
    audit.record(
        session,
        now=now,
        actor=actor,
        action="user.activated" if active else "user.deactivated",
        entity_type="user",
        entity_id=user.id,
        before={"active": not active},
        after={"active": active},
    )
    return True


def unlock(session: Session, *, username: str, now: datetime, actor: str = "cli") -> bool:
    """Clear the name's failed-login counts from every address (and those addresses' own
    counts) so the user may log in at once; False when there was nothing to clear."""
    user = get_user(session, username)
    cleared = logins.clear_failures(session, username=user.username)
    if not cleared and not user.failed_logins and user.locked_until is None:
        return False
    user.failed_logins = 0
    user.locked_until = None
    audit.record(
        session,
        now=now,
        actor=actor,
        action="user.unlocked",
        entity_type="user",
        entity_id=user.id,
        before={"cleared": cleared},
        after={"cleared": []},
    )
    return True


def set_password(session: Session, *, username: str, password: str, now: datetime, actor: str = "cli") -> User:
    """Give the user a new password (same rules as `add_user`); their existing sessions end.

    The failed-login count and lock are left alone: `unlock` clears them.
    """
    user = get_user(session, username)
    check_password_rules(password)
    user.password_hash = hash_password(password)
    logins.end_user_sessions(session, user.id)
    # The hash never goes into the audit trail.
    audit.record(
        session, now=now, actor=actor, action="user.password_changed", entity_type="user", entity_id=user.id
    )
    return user
