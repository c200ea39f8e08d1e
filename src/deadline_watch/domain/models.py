"""The data model: SQLAlchemy 2.0 typed declarative classes, and nothing else.

Instants are stored in UTC (`UtcDateTime`), milestone dates as plain dates. Status
and state columns are short strings whose allowed values live in the StrEnums below
(each member carries its Chinese label).

Longer than 400 lines on purpose: every table on one metadata in one module, which is what
Alembic and tests/test_migrations.py compare against the migrations; it holds declarations
only, no behaviour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no zone support) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry their Chinese label: `OPEN = "open", "待处理"`.

    Columns hold the plain value; pages, reports and SMS show `.label`, or
    `label_of(value)` for a value read back from the database.
    """

    _label: str

    def __new__(cls, value: str, label: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label or value
        return member

    @property
    def label(self) -> str:
        return self._label

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a stored value; an unknown value is shown as it is, None as ""."""
        if value is None:
            return ""
        try:
            return cls(value).label
        except ValueError:
            return value


class ProjectStatus(LabelledEnum):
    ACTIVE = "active", "在建"
    COMPLETED = "completed", "已完成"
    SUSPENDED = "suspended", "暂停"
    CANCELLED = "cancelled", "已撤销"


class ProjectLevel(StrEnum):
    PROVINCIAL = "省级"
    MUNICIPAL = "市级"
    DISTRICT = "区级"


class MilestoneStatus(LabelledEnum):
    OPEN = "open", "未完成"
    COMPLETED = "completed", "已完成"
    CANCELLED = "cancelled", "已撤销"


CANONICAL_STAGES = ("谋划立项", "组织实施", "阶段成果", "验收结项")


class NotificationState(LabelledEnum):
    PENDING = "pending", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发出"
    DELIVERED = "delivered", "已送达"
    UNDELIVERED = "undelivered", "未送达"
    FAILED = "failed", "发送失败"
    CANCELLED = "cancelled", "已取消"


class NotificationRule(LabelledEnum):
    REMINDER = "reminder", "到期提醒"
    ESCALATION = "escalation", "逾期督办"
    NOTICE = "notice", "申报通知"  # a one-off message to an official (request returned, reply received)


class EscalationState(LabelledEnum):
    OPEN = "open", "待处理"
    ACKNOWLEDGED = "acknowledged", "已认领"
    RESOLVED = "resolved", "已办结"


class EscalationReason(LabelledEnum):
    OVERDUE = "overdue", "逾期未完成"
    UNREACHABLE = "unreachable", "无法联系责任人"
    # opened by a clock jump, taken back by `watch rewind`: accuses no one
    WITHDRAWN = "withdrawn", "时钟回拨撤回"


class Resolution(LabelledEnum):
    COMPLETED_LATE = "completed_late", "已逾期完成"
    # an official's report, approved after the date, says it was done on time
    COMPLETED = "completed", "已按期完成"
    DEADLINE_EXTENDED = "deadline_extended", "已批准延期"
    WAIVED = "waived", "免予督办"
    REFERRED = "referred_for_accountability", "移交问责"
    CANCELLED = "cancelled", "节点已撤销"
    REACHED = "reached", "已联系上责任人"
    WITHDRAWN = "withdrawn", "时钟回拨撤回"


class RequestKind(LabelledEnum):
    """What an official asks for on their page (or by replying 完成 to an SMS)."""

    COMPLETION = "completion", "申报完成"
    EXTENSION = "extension", "申请延期"
    PROGRESS = "progress", "填报进展"  # recorded, not reviewed


class RequestState(LabelledEnum):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已通过"
    RETURNED = "returned", "已退回"
    NOTED = "noted", "已填报"  # a progress report: nothing to review


class ReferralState(LabelledEnum):
    REFERRED = "referred", "已移交"  # handed to the discipline-inspection commission
    ANSWERED = "answered", "已反馈"  # the commission's outcome is recorded


class UserRole(LabelledEnum):
    ADMIN = "admin", "管理员"
    SUPERVISOR = "supervisor", "督办员"
    VIEWER = "viewer", "只读"


class Unit(Base):
    """责任单位: a responsible unit, optionally under a parent unit."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Person(Base):
    """An official (owner, lead leader) or a supervisor, matched by mobile number."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # space-separated role words: "owner", "lead_leader", "supervisor"
    roles: Mapped[str] = mapped_column(String(100), default="")
    # the provider refuses this number (Twilio 21610), or a 退订 reply under sms.honour_opt_out:
    # no SMS is sent any more
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the person replied 退订/TD/STOP; recorded and shown ("已回复退订") but, for mandatory
    # 督办 notices, not obeyed unless sms.honour_opt_out is set
    unsubscribe_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    unit: Mapped[Unit | None] = relationship()

    def has_role(self, role: str) -> bool:
        return role in self.roles.split()


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        # every scan looks up the active recurring tasks: a handful among 250,000 projects
        Index("ix_projects_scheduled", "status",
              sqlite_where=text("schedule <> ''"), postgresql_where=text("schedule <> ''")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    co_units: Mapped[str] = mapped_column(Text, default="")  # joined with "、"
    lead_leader_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    level: Mapped[str | None] = mapped_column(String(8))
    # the board counts active projects straight off this index
    status: Mapped[str] = mapped_column(String(16), default=ProjectStatus.ACTIVE, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # how the task's deadlines run: "" (the dates of its milestones), "standing" (长期: never
    # reminded or escalated) or a recurrence rule ("monthly:25", see domain/recurrence.py)
    schedule: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # the 完成时限 as the office wrote it ("6月底前"), kept beside what it was read as
    deadline_phrase: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    unit: Mapped[Unit] = relationship()
    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    lead_leader: Mapped[Person | None] = relationship(foreign_keys=[lead_leader_id])
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", order_by="Milestone.position"
    )


class ProjectCoUnit(Base):
    """协办单位 as Unit rows, so the board and evaluation can filter by them."""

    __tablename__ = "project_co_units"
    __table_args__ = (Index("ix_project_co_units_unit_id", "unit_id"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class Milestone(Base):
    """One node of a project (谋划立项, 组织实施, 阶段成果, 验收结项 or a custom name)."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_milestones_project_id_name"),
        # project_id rides along so the overview counts per due date and project off the
        # index, completed_on so "has an open overdue node" (the red light) is read off it too
        Index("ix_milestones_status_due_date", "status", "due_date", "project_id", "completed_on"),
        # weekly dispatch and overview: ranges of completed_on that also read these columns;
        # only set dates are indexed, so `completed_on IS NULL` never looks like a selective walk
        Index("ix_milestones_completed_on", "completed_on", "due_date", "status", "project_id",
              sqlite_where=text("completed_on IS NOT NULL"), postgresql_where=text("completed_on IS NOT NULL")),
        # the 画像 find milestones by project and read only these (migration 0010)
        Index("ix_milestones_project_facts", "project_id", "status", "due_date", "original_due_date", "completed_on",
              "owner_id", "id"),
        # the evaluation: a period's extended milestones by their original due date
        Index("ix_milestones_original_due_date", "original_due_date",
              sqlite_where=text("original_due_date IS NOT NULL"), postgresql_where=text("original_due_date IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    due_date: Mapped[date] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    completed_on: Mapped[date | None] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=MilestoneStatus.OPEN)
    # 待审核: set (compare-and-set) while an official's completion or extension request
    # waits for a supervisor; no reminder, escalation SMS or level rise meanwhile
    review_pending_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the due date before the first approved extension: evaluation counts on-time by it
    original_due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    project: Mapped[Project] = relationship(back_populates="milestones")
    owner_override: Mapped[Person | None] = relationship(foreign_keys=[owner_id])


class Notification(Base):
    """The SMS outbox. `dedup_key` makes each intent exist once, however often the scan runs."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_notifications_milestone_id_state", "milestone_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"))
    rule: Mapped[str] = mapped_column(String(16))
    level: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    days_left: Mapped[int | None] = mapped_column(Integer)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    # the message kind (template name, e.g. "reminder", "escalation_owner") and its
    # variables as strings, fixed at enqueue time: template providers (Aliyun) send these
    template: Mapped[str | None] = mapped_column(String(64))
    template_params: Mapped[dict | None] = mapped_column(JSON)
    segments: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=NotificationState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    provider_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Aliyun codes are long ("isv.BUSINESS_LIMIT_CONTROL", "InvalidAccessKeyId.NotFound")
    provider_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    price: Mapped[float | None] = mapped_column(Numeric(10, 5))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    milestone: Mapped[Milestone] = relationship()
    recipient: Mapped[Person | None] = relationship()


class User(Base):
    """A board account. A supervisor linked to a Person with a mobile is notified at level 2."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # how SMS and the board address the person (e.g. "王督查"); never the login name
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    # bumped when the account is deactivated: every session cookie issued before is void
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    person: Mapped[Person | None] = relationship()


class WebSession(Base):
    """One board login. The cookie carries a random id; only its SHA-256 is stored, and a
    cookie whose row is gone (logout, new password, deactivation) or expired is refused."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class LoginFailures(Base):
    """Failed logins counted per (account, address) and per address, shared by every board
    process. `key` is "addr:<address>" or "user:<sha256 of the name>:<address>"."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookReplay(Base):
    """A signed webhook already accepted, remembered for the signature's validity window so
    a replay is refused by any board process."""

    __tablename__ = "webhook_replays"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of what was signed
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Escalation(Base):
    """An item on the supervision board: one per milestone and due date (`dedup_key`)."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_state_due_date", "state", "due_date"),
        Index("ix_escalations_milestone_id", "milestone_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"))
    reason: Mapped[str] = mapped_column(String(16), default=EscalationReason.OVERDUE)
    due_date: Mapped[date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=EscalationState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    raised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    notes: Mapped[str] = mapped_column(Text, default="")

    milestone: Mapped[Milestone] = relationship()
    assignee: Mapped[User | None] = relationship()


class Referral(Base):
    """移交问责: an escalation handed over for accountability, with the facts as they stood
    when it was referred (`facts`, JSON) and the commission's answer once it comes."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_state_referred_at", "state", "referred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), unique=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=ReferralState.REFERRED)
    days_overdue: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict] = mapped_column(JSON)
    referred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    referred_by: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(100))

    escalation: Mapped[Escalation] = relationship()


class AuditEvent(Base):
    """Append-only history: who did what to which entity, with before/after values."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class PersonLink(Base):
    """The personal link an official gets in their SMS (`<public_url>/m/<token>`).

    One per person. The token is derived from the secret key and `nonce` (so every SMS can
    carry it again) and only its SHA-256 is stored; a new nonce revokes the old link. It is
    bound to the mobile it was sent to and valid for `officials.link_valid_days` after
    `last_sent_at`.
    """

    __tablename__ = "person_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    mobile: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SignInCode(Base):
    """A 6-digit code sent by SMS for /m/login (stored as a hash, 5 minutes, 5 tries)."""

    __tablename__ = "sign_in_codes"
    __table_args__ = (Index("ix_sign_in_codes_person_id_created_at", "person_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OfficialRequest(Base):
    """What an official reported or asked for: progress, completion or an extension."""

    __tablename__ = "official_requests"
    __table_args__ = (
        Index("ix_official_requests_state_created_at", "state", "created_at"),
        Index("ix_official_requests_milestone_id", "milestone_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="page")  # page | sms
    reported_completed_on: Mapped[date | None] = mapped_column(Date)
    proposed_due_date: Mapped[date | None] = mapped_column(Date)
    due_date_at_request: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    percent: Mapped[int | None] = mapped_column(Integer)
    return_reason: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    milestone: Mapped[Milestone] = relationship()
    person: Mapped[Person] = relationship()
    reviewer: Mapped[User | None] = relationship()


class EvidenceFile(Base):
    """An evidence file (佐证资料), kept in the database so every board process and every
    backup has it. `content_type` was detected from the bytes at upload, never the name."""

    __tablename__ = "evidence_files"
    __table_args__ = (Index("ix_evidence_files_request_id", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("official_requests.id"))
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"))
    filename: Mapped[str] = mapped_column(String(200))  # shown to people, never used as a path
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # loaded only when a file is downloaded, never with a listing
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TickRun(Base):
    """One scan/delivery pass of the daemon: feeds /healthz ("last tick") and /metrics."""

    __tablename__ = "tick_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # scan | delivery | report
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    counts: Mapped[dict | None] = mapped_column(JSON)


def responsible_person_id() -> ColumnElement[int]:
    """Who answers for a milestone, as SQL: its own owner when it has one, else its
    project's owner. The statement must have Milestone and Project in its FROM."""
    return func.coalesce(Milestone.owner_id, Project.owner_id)


class WatchState(Base):
    """Named facts about the watch's time that every process must agree on: the last scan's
    instant (time only goes forward), operator confirmations of a clock jump, the holder
    of each leader lease."""

    __tablename__ = "watch_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    instant: Mapped[datetime | None] = mapped_column(UtcDateTime())
    counter: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReportRun(Base):
    """One scheduled report per period: the unique slug lets exactly one writer record it."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    written_at: Mapped[datetime] = mapped_column(UtcDateTime())
    writer: Mapped[str] = mapped_column(String(100), default="")


# The queue's free-text index (migration 0009): an FTS5 trigram table on SQLite (rowid =
# escalation id), a pg_trgm-indexed table on PostgreSQL, filled by triggers. Declared by the
# migration alone, since SQLAlchemy cannot declare a virtual table.
ESCALATION_SEARCH = "escalation_search"


def declared_in_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's `include_name`: compare everything but the search table, its view and
    FTS5's shadow tables, which only the migration declares."""
    return not (type_ == "table" and name is not None and name.startswith(ESCALATION_SEARCH))
