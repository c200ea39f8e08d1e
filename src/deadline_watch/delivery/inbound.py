"""Incoming SMS (Twilio's `POST /twilio/inbound` webhook): STOP/退订 and START replies, and
"完成"/"已完成" from an official (handed to `on_completed`, which the web edge wires to the
officials' side: a completion request waiting for review).

督办 notices are mandatory work notifications: a STOP/退订/TD reply is recorded on the
Person (the board shows "已回复退订") and sending goes on, unless `sms.honour_opt_out`
asks for the reply to stop them. Only the provider refusing a number (Twilio blocks a
number that replied STOP on its side: sends fail with 21610) stops it regardless; then
the board shows the official as unreachable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.config import Settings
from deadline_watch.core.logs import get_logger
from deadline_watch.delivery.receipts import handle_signed_webhook
from deadline_watch.delivery.unreachable import mark_opted_in, mark_opted_out, record_unsubscribe_request

INBOUND_PATH = "/twilio/inbound"
SOURCE = "sms:reply"

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
COMPLETED_KEYWORDS = frozenset({"完成", "已完成"})

# what to do with a "完成" reply: (session, sender's number, now)
CompletedReply = Callable[[Session, str, datetime], object]

# Surrounding spaces and punctuation ("STOP.", "【退订】", "退订!") do not hide the keyword.
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def keyword(body: str) -> str:
    """The reply reduced to a comparable keyword: stripped of edges, upper-cased."""
    return _EDGES.sub("", body or "").upper()


def reply_intent(body: str) -> str | None:
    """"opt_out", "opt_in", "completed" or None for an ordinary reply."""
    word = keyword(body)
    if word in OPT_OUT_KEYWORDS:
        return "opt_out"
    if word in OPT_IN_KEYWORDS:
        return "opt_in"
    if word in COMPLETED_KEYWORDS:
        return "completed"
    return None


def apply_inbound(
    session: Session,
    params: Mapping[str, str],
    *,
    now: datetime,
    on_completed: CompletedReply | None = None,
    honour_opt_out: bool = False,
) -> str | None:
    """Record one incoming message; returns the intent acted on, if any.

    An opt-out reply is always recorded; it stops the notices only with `honour_opt_out`.
    """
    sender = (params.get("From") or "").strip()
    body = params.get("Body") or ""
    # With Advanced Opt-Out on a messaging service Twilio names the keyword's meaning itself
    # (custom keywords included); trust it over our own list.
    opt_out_type = (params.get("OptOutType") or "").strip().upper()
    intent = {"STOP": "opt_out", "START": "opt_in"}.get(opt_out_type) or reply_intent(body)
    log = get_logger()
    if intent == "opt_out":
        record_unsubscribe_request(session, sender, now, SOURCE)
        if honour_opt_out:
            mark_opted_out(session, sender, now, SOURCE)
    elif intent == "opt_in":
        mark_opted_in(session, sender, now, SOURCE)
    elif intent == "completed" and on_completed is not None:
        log.info("sms.inbound_completed", mobile=sender)
        on_completed(session, sender, now)
    else:
        log.info("sms.inbound_received", mobile=sender, body_length=len(body))
    return intent


def handle_inbound(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    url: str,
    params: Mapping[str, str],
    signature: str | None,
    now: datetime,
    on_completed: CompletedReply | None = None,
) -> int:
    """`POST /twilio/inbound`: the HTTP status to answer (403 unsigned/bad, 400 no From, else 204).

    204 means "no reply": Twilio answers STOP/START keywords itself.
    """
    return handle_signed_webhook(
        sessions,
        settings,
        path=INBOUND_PATH,
        url=url,
        params=params,
        signature=signature,
        now=now,
        well_formed=lambda form: bool((form.get("From") or "").strip()),
        apply=partial(apply_inbound, on_completed=on_completed, honour_opt_out=settings.sms.honour_opt_out),
    )
