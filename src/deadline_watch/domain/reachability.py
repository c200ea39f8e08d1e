"""Whether SMS still reach a person, as the board says it: one rule for every page.

A 退订/TD/STOP reply is recorded (`unsubscribe_requested_at`) but, for mandatory 督办
notices, does not stop them unless `sms.honour_opt_out` is set; a provider refusal (Twilio
21610) or an honoured request sets `opted_out_at`, and then nothing is sent any more.
"""

from __future__ import annotations

from datetime import datetime

UNREACHABLE = "无法联系(短信被拒收)"
UNSUBSCRIBE_REQUESTED = "已回复退订"


def contact_note(opted_out_at: datetime | None, unsubscribe_requested_at: datetime | None) -> str | None:
    """The note shown beside a person's name on the board, or None when nothing is amiss."""
    if opted_out_at is not None:
        return UNREACHABLE
    if unsubscribe_requested_at is not None:
        return UNSUBSCRIBE_REQUESTED
    return None
