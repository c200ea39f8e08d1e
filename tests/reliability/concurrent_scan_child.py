"""Child process for test_concurrent_scan: waits for a shared start instant, then scans."""

import json
import sys
import time
from datetime import datetime

from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.watch.service import run_scan


def main() -> None:
    url, now_text, start_at, rounds = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    now = datetime.fromisoformat(now_text)
    while time.time() < start_at:
        time.sleep(0.001)
    totals = {"reminders_enqueued": 0, "escalations_opened": 0, "escalations_raised": 0, "escalation_sms_enqueued": 0}
    for _ in range(rounds):
        counts, _due = run_scan(sessions, Settings(), now=now)
        for key in totals:
            totals[key] += getattr(counts, key)
    print(json.dumps(totals))
    engine.dispose()


if __name__ == "__main__":
    main()
