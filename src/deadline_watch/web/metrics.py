"""Prometheus metrics read from the database at scrape time, in a registry per app.

Reading at scrape time (rather than counting in this process) makes the figures right
whichever process did the work: the daemon, the CLI or another board instance.
"""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select

from deadline_watch.core import db
from deadline_watch.core.context import AppContext
from deadline_watch.domain import watch_clock
from deadline_watch.domain.models import Escalation, EscalationState, Notification, TickRun

LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600)
LATENCY_WINDOW = timedelta(days=7)


class BoardCollector:
    def __init__(self, app_context: AppContext) -> None:
        self.app_context = app_context

    def collect(self):
        now = self.app_context.now()
        with db.transaction(self.app_context.sessions) as session:
            ticks = session.execute(
                select(TickRun.kind, func.count(TickRun.id), func.max(TickRun.started_at)).group_by(TickRun.kind)
            ).all()
            by_state = session.execute(
                select(Notification.state, func.count(Notification.id)).group_by(Notification.state)
            ).all()
            open_by_level = session.execute(
                select(Escalation.level, func.count(Escalation.id))
                .where(Escalation.state.in_([EscalationState.OPEN, EscalationState.ACKNOWLEDGED]))
                .group_by(Escalation.level)
            ).all()
            holds = watch_clock.holds(session, since=now - timedelta(minutes=15))
            latencies = session.execute(
                select(Notification.created_at, Notification.sent_at).where(
                    Notification.sent_at.is_not(None), Notification.sent_at >= now - LATENCY_WINDOW
                )
            ).all()
        tick_total = CounterMetricFamily("deadline_watch_ticks", "Daemon passes recorded, by kind", labels=["kind"])
        tick_last = GaugeMetricFamily(
            "deadline_watch_last_tick_timestamp_seconds", "Start of the newest pass, by kind", labels=["kind"]
        )
        for kind, count, last in ticks:
            tick_total.add_metric([kind], count)
            if last is not None:
                tick_last.add_metric([kind], last.timestamp())
        yield tick_total
        yield tick_last
        notifications = GaugeMetricFamily(
            "deadline_watch_notifications", "SMS outbox rows by state", labels=["state"]
        )
        for state, count in by_state:
            notifications.add_metric([state], count)
        yield notifications
        escalations = GaugeMetricFamily(
            "deadline_watch_escalations_open", "Open or acknowledged escalations by level", labels=["level"]
        )
        for level, count in open_by_level:
            escalations.add_metric([str(level)], count)
        yield escalations
        yield _latency_histogram([sent - created for created, sent in latencies])
        held = GaugeMetricFamily(
            "deadline_watch_clock_held_daemons", "Daemons holding every job because their clock jumped"
        )
        held.add_metric([], len(holds))
        yield held


def _latency_histogram(delays: list[timedelta]) -> HistogramMetricFamily:
    seconds = [max(delay.total_seconds(), 0.0) for delay in delays]
    buckets = [(str(float(bound)), sum(1 for s in seconds if s <= bound)) for bound in LATENCY_BUCKETS]
    buckets.append(("+Inf", len(seconds)))
    return HistogramMetricFamily(
        "deadline_watch_sms_latency_seconds",
        "sent_at - created_at of SMS sent in the last 7 days",
        buckets=buckets,
        sum_value=sum(seconds),
    )


def make_registry(app_context: AppContext) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BoardCollector(app_context))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


