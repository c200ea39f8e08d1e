"""The daemon's own health: what its jobs found (database, clock, leases), served as
/healthz (JSON, 503 when unhealthy) and /metrics (Prometheus text) on 127.0.0.1 when
`scheduler.health_port` is set. The board's /healthz shows the database's view; this
shows the daemon's, which still answers when the database does not.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deadline_watch.core.logs import get_logger

LOG_EVERY_SECONDS = 60.0  # a failure that persists is logged at most once a minute
BACKOFF_START, BACKOFF_CAP = 2.0, 60.0


@dataclass
class DaemonHealth:
    """Thread-safe state shared by the jobs and the health server."""

    database_error: str | None = None
    database_failures: int = 0
    clock_state: str = "ok"
    clock_detail: str = ""
    leader: dict[str, bool] = field(default_factory=dict)
    jobs_run: dict[str, int] = field(default_factory=dict)
    last_scan: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last_logged: float = field(default=float("-inf"), repr=False)
    _suppressed: int = field(default=0, repr=False)
    _retry_at: float = field(default=float("-inf"), repr=False)
    _backoff: float = field(default=BACKOFF_START, repr=False)

    @property
    def healthy(self) -> bool:
        return self.database_error is None and self.clock_state == "ok"

    # ---------------------------------------------------------------- database

    def may_try_database(self, monotonic: float) -> bool:
        """False while backing off after a database failure."""
        with self._lock:
            return self.database_error is None or monotonic >= self._retry_at

    def database_failed(self, job: str, message: str, monotonic: float) -> None:
        """One line per failure at most once a minute (the count of the quiet ones rides along)."""
        with self._lock:
            first = self.database_error is None
            self.database_error = message
            self.database_failures += 1
            self._retry_at = monotonic + self._backoff
            retry_in = self._backoff
            self._backoff = min(self._backoff * 2, BACKOFF_CAP)
            if not first and monotonic - self._last_logged < LOG_EVERY_SECONDS:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last_logged = self._suppressed, 0, monotonic
        get_logger().error("database.unavailable", job=job, error=message, retry_in_seconds=retry_in,
                           repeated=suppressed)

    def database_ok(self) -> None:
        with self._lock:
            was = self.database_error
            self.database_error = None
            self._backoff = BACKOFF_START
            self._retry_at = float("-inf")
        if was is not None:
            get_logger().warning("database.recovered", previous_error=was)

    # ---------------------------------------------------------------- reports

    def ran(self, job: str) -> None:
        with self._lock:
            self.jobs_run[job] = self.jobs_run.get(job, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "status": "ok" if self.healthy else "error",
                "database": "ok" if self.database_error is None else f"error: {self.database_error}",
                "database_failures": self.database_failures,
                "clock": self.clock_state if self.clock_state == "ok" else f"held: {self.clock_detail}",
                "clock_state": self.clock_state,
                "leader": dict(self.leader),
                "jobs_run": dict(self.jobs_run),
                "last_scan": self.last_scan,
            }

    def metrics_text(self) -> str:
        values = self.as_dict()
        lines = [
            "# HELP deadline_watch_daemon_healthy 1 when the database answers and the clock is trusted.",
            "# TYPE deadline_watch_daemon_healthy gauge",
            f"deadline_watch_daemon_healthy {int(values['status'] == 'ok')}",
            "# HELP deadline_watch_daemon_database_up 1 when the last database access succeeded.",
            "# TYPE deadline_watch_daemon_database_up gauge",
            f"deadline_watch_daemon_database_up {int(values['database'] == 'ok')}",
            "# HELP deadline_watch_daemon_database_failures_total Failed jobs because of the database.",
            "# TYPE deadline_watch_daemon_database_failures_total counter",
            f"deadline_watch_daemon_database_failures_total {values['database_failures']}",
            "# HELP deadline_watch_daemon_clock_held 1 while a clock jump holds every job (by state).",
            "# TYPE deadline_watch_daemon_clock_held gauge",
        ]
        for state in ("forward_jump", "backward_jump", "database_clock", "behind_last_scan"):
            lines.append(f'deadline_watch_daemon_clock_held{{state="{state}"}} {int(values["clock_state"] == state)}')
        lines += [
            "# HELP deadline_watch_daemon_leader 1 when this daemon held the job's lease on its last run.",
            "# TYPE deadline_watch_daemon_leader gauge",
        ]
        lines += [f'deadline_watch_daemon_leader{{job="{job}"}} {int(held)}' for job, held in values["leader"].items()]
        lines += ["# TYPE deadline_watch_daemon_jobs_total counter"]
        lines += [f'deadline_watch_daemon_jobs_total{{job="{job}"}} {count}' for job, count in values["jobs_run"].items()]
        return "\n".join(lines) + "\n"


def serve_health(health: DaemonHealth, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve /healthz and /metrics in a daemon thread; returns the server (shutdown() to stop)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path.split("?")[0] == "/healthz":
                body = json.dumps(health.as_dict(), ensure_ascii=False).encode()
                self._answer(200 if health.healthy else 503, "application/json", body)
            elif self.path.split("?")[0] == "/metrics":
                self._answer(200, "text/plain; version=0.0.4", health.metrics_text().encode())
            else:
                self._answer(404, "text/plain", b"not found")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="daemon-health", daemon=True).start()
    return server


def monotonic() -> float:
    return time.monotonic()
