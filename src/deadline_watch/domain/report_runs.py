"""One scheduled report per period: the first writer's row wins (INSERT .. ON CONFLICT DO NOTHING)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.domain.models import ReportRun


def claim_period(session: Session, kind: str, slug: str, *, now: datetime, writer: str = "") -> bool:
    """True when this caller is the period's writer; False when it was already written."""
    row = {"kind": kind, "slug": slug, "written_at": now, "writer": writer[:100]}
    return bool(db.insert_ignore(session, ReportRun.__table__, [row], "slug"))
