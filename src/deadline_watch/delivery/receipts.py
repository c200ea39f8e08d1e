"""Twilio status callbacks: verify the signature, then move the outbox row to its final state.

`handle_status_callback` is what the web route `POST /twilio/status` calls. A final
failure (`undelivered`, `failed`) opens an "unreachable" item on the supervision board, as
a permanent send error does. Statuses may arrive late or out of order; a row never moves
backwards (delivered stays delivered).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.core.logs import get_logger
from deadline_watch.delivery.unreachable import (
    mark_opted_out,
    open_unreachable_escalation,
    resolve_unreachable_escalation,
)
from deadline_watch.domain import audit
from deadline_watch.domain.models import Notification, NotificationState, WebhookReplay
from deadline_watch.sms.error_codes import (
    DELIVERY_RETRY_MINUTES,
    MAX_DELIVERY_RETRIES,
    OPTED_OUT_CODE,
    delivery_retry_due,
)
from deadline_watch.sms.twilio_backend import status_callback_url

ACTOR = "twilio"
STATUS_PATH = "/twilio/status"

# Twilio statuses that only confirm progress; they never change our row.
PROGRESS_STATUSES = frozenset({"accepted", "scheduled", "queued", "sending", "sent"})
FINAL_STATUSES = {
    "delivered": NotificationState.DELIVERED,
    "undelivered": NotificationState.UNDELIVERED,
    "failed": NotificationState.FAILED,
}
# States a final status may replace. `undelivered`/`failed` may still become `delivered`
# (a late delivery receipt is the truth about the handset); `delivered` is final.
_REPLACEABLE = {
    NotificationState.DELIVERED: {
        NotificationState.PENDING,
        NotificationState.SENDING,
        NotificationState.SENT,
        NotificationState.UNDELIVERED,
        NotificationState.FAILED,
    },
    NotificationState.UNDELIVERED: {NotificationState.PENDING, NotificationState.SENDING, NotificationState.SENT},
    NotificationState.FAILED: {NotificationState.PENDING, NotificationState.SENDING, NotificationState.SENT},
}


def verify_signature(url: str, params: Mapping[str, str], signature: str | None, auth_token: str | None) -> bool:
    """True when `signature` (X-Twilio-Signature) signs `url` + `params` with `auth_token`."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def signed_url_candidates(settings: Settings, url: str, path: str) -> list[str]:
    """The URLs Twilio may have signed: the public URL plus the request's path (and query).

    Only the configured public URL is trusted: the Host header of the request is the
    caller's to choose, so without `web.public_url` nothing is accepted. The URL this
    product itself gives Twilio for `path` is accepted too (a proxy that strips a prefix).
    """
    public = settings.web.public_url
    if not public:
        return []
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    candidates = [public.rstrip("/") + tail, public.rstrip("/") + path]
    return list(dict.fromkeys(candidates))


def request_is_signed(settings: Settings, *, url: str, params: Mapping[str, str], signature: str | None, path: str) -> bool:
    token = settings.twilio.auth_token
    if not token:
        get_logger().warning("sms.callback_rejected", reason="no TWILIO_AUTH_TOKEN configured", path=path)
        return False
    if not signature:
        get_logger().warning("sms.callback_rejected", reason="unsigned", path=path)
        return False
    if any(verify_signature(candidate, params, signature, token) for candidate in signed_url_candidates(settings, url, path)):
        return True
    get_logger().warning("sms.callback_rejected", reason="bad signature", path=path)
    return False


def handle_status_callback(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    url: str,
    params: Mapping[str, str],
    signature: str | None,
    now: datetime,
) -> int:
    """`POST /twilio/status`: the HTTP status to answer.

    403 when unsigned, badly signed or no auth token is configured; 400 when a signed
    request lacks MessageSid/MessageStatus; 204 otherwise (also for unknown sids, so that
    Twilio does not retry what we can never match).
    """
    return handle_signed_webhook(
        sessions,
        settings,
        path=STATUS_PATH,
        url=url,
        params=params,
        signature=signature,
        now=now,
        well_formed=_names_message_and_status,
        apply=apply_status_callback,
    )


def handle_signed_webhook(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    path: str,
    url: str,
    params: Mapping[str, str],
    signature: str | None,
    now: datetime,
    well_formed: Callable[[Mapping[str, str]], bool],
    apply: Callable[..., object],
) -> int:
    """One Twilio webhook at `path`: 403 unless signed, 400 unless `well_formed(params)`,
    else `apply(session, params, now=now)` in one transaction and 204 (no TwiML reply)."""
    if not request_is_signed(settings, url=url, params=params, signature=signature, path=path):
        return 403
    if not well_formed(params):
        return 400
    with db.transaction(sessions) as session:
        if not first_delivery(session, path=path, params=params, signature=signature or "", now=now):
            get_logger().warning("sms.callback_replayed", path=path,
                                 provider_message_id=_sid(params) or None, status=_status(params) or None)
            return 204  # already applied: a replay (or Twilio's own retry) changes nothing
        apply(session, params, now=now)
    return 204


# Twilio's signatures carry no time, so a signed request is remembered this long (and a
# replay within it refused by every board process, since the memory is the database).
REPLAY_WINDOW = timedelta(days=90)


def first_delivery(session: Session, *, path: str, params: Mapping[str, str], signature: str,
                   now: datetime) -> bool:
    """True the first time this signed request (path, parameters, signature) is seen."""
    canonical = "\n".join([path, signature, *(f"{key}={params[key]}" for key in sorted(params))])
    key = hashlib.sha256(canonical.encode()).hexdigest()
    session.execute(sa.delete(WebhookReplay).where(WebhookReplay.seen_at < now - REPLAY_WINDOW))
    if session.get(WebhookReplay, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(WebhookReplay(key=key, seen_at=now))
    except IntegrityError:  # another board process took the same request a moment ago
        return False
    return True


def _names_message_and_status(params: Mapping[str, str]) -> bool:
    if _sid(params) and _status(params):
        return True
    get_logger().warning("sms.callback_malformed", keys=sorted(params))
    return False


def _sid(params: Mapping[str, str]) -> str:
    return (params.get("MessageSid") or params.get("SmsSid") or "").strip()


def _status(params: Mapping[str, str]) -> str:
    return (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()


def apply_status_callback(
    session: Session, params: Mapping[str, str], *, now: datetime, actor: str = ACTOR, provider: str = "Twilio"
) -> Notification | None:
    """Record one status callback on the row sent with `MessageSid`; None for unknown sids.

    Also records a polled receipt of another provider (`actor`, `provider` name it), shaped alike.
    """
    log = get_logger()
    sid, status = _sid(params), _status(params)
    error_code = (params.get("ErrorCode") or "").strip() or None
    query = sa.select(Notification).where(Notification.provider_message_id == sid)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # two callbacks for one message apply one after the other
    row = session.scalars(query).first()
    if row is None:
        log.info("sms.callback_unknown", provider_message_id=sid, status=status)
        return None
    target = FINAL_STATUSES.get(status)
    if target is None:
        event = "sms.callback_confirmed" if status in PROGRESS_STATUSES else "sms.callback_ignored"
        log.info(event, notification_id=row.id, provider_message_id=sid, status=status, state=row.state)
        return row
    if row.state == target or row.state not in _REPLACEABLE[target]:
        log.info("sms.callback_stale", notification_id=row.id, status=status, state=row.state)
        return row
    _record_segments(row, params)
    if target is not NotificationState.DELIVERED and delivery_retry_due(error_code, row.attempts):
        _requeue_for_delivery_retry(session, row, sid, status, error_code, now=now)
        return row
    before = {"state": row.state, "provider_error_code": row.provider_error_code}
    row.state = target.value
    row.updated_at = now
    if target is NotificationState.DELIVERED:
        row.delivered_at = now
    else:
        row.provider_error_code = error_code
        row.last_error = f"{provider.lower()} status {status}" + (f" (error {error_code})" if error_code else "")
    audit.record(
        session,
        now=now,
        actor=actor,
        action=f"sms.{target.value}",
        entity_type="notification",
        entity_id=row.id,
        before=before,
        after={"state": row.state, "provider_error_code": row.provider_error_code, "provider_message_id": sid},
    )
    db.log_after_commit(session, "info", "sms.callback_applied", notification_id=row.id, status=status,
                        error_code=error_code)
    if target is NotificationState.DELIVERED:
        if before["state"] in (NotificationState.UNDELIVERED, NotificationState.FAILED):
            resolve_unreachable_escalation(session, row, now=now, actor=actor)
    else:
        detail = f"短信{('未送达' if target is NotificationState.UNDELIVERED else '发送失败')} / SMS {status}"
        if error_code:
            detail += f" ({provider} {error_code})"
        open_unreachable_escalation(session, row, now=now, actor=actor, detail=detail)
        if error_code == OPTED_OUT_CODE:
            mark_opted_out(session, row.to_number, now, "twilio:21610")
    return row


def _record_segments(row: Notification, params: Mapping[str, str]) -> None:
    """Segments as Twilio counted them (a Messaging-Service send reports 0 at creation)."""
    try:
        segments = int((params.get("NumSegments") or "").strip() or 0)
    except ValueError:
        return
    if segments > 0:
        row.segments = segments


def _requeue_for_delivery_retry(
    session: Session, row: Notification, sid: str, status: str, error_code: str | None, *, now: datetime
) -> None:
    """A possibly temporary delivery failure (30003 handset off, 30008 ...): back in the
    queue after a pause, with no board item; the official is only marked unreachable once
    MAX_DELIVERY_RETRIES retries have failed too."""
    before = {"state": row.state, "provider_message_id": sid, "attempts": row.attempts}
    row.state = NotificationState.PENDING.value
    row.next_attempt_at = now + timedelta(minutes=DELIVERY_RETRY_MINUTES * row.attempts)
    row.provider_message_id = None  # the next send gets a new sid; this one stays in the audit
    row.claimed_at = None
    row.sent_at = None
    row.provider_error_code = error_code
    row.last_error = f"twilio status {status} (error {error_code}): retry {row.attempts} of {MAX_DELIVERY_RETRIES}"
    row.updated_at = now
    audit.record(
        session, now=now, actor=ACTOR, action="sms.delivery_retry", entity_type="notification", entity_id=row.id,
        before=before, after={"state": row.state, "next_attempt_at": row.next_attempt_at, "error_code": error_code},
    )
    db.log_after_commit(
        session, "warning", "sms.delivery_retry", notification_id=row.id, provider_message_id=sid,
        error_code=error_code, attempts=row.attempts, next_attempt_at=row.next_attempt_at.isoformat(),
    )


__all__ = [
    "apply_status_callback",
    "handle_status_callback",
    "status_callback_url",
    "verify_signature",
]
