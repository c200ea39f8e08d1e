"""督办总览 (/overview): the wall-screen page. It reloads itself (meta refresh, no script).

The figures are computed at most once a minute per board app (per day):
every wall screen and tablet reloading the page reads the same numbers, and the cost of
counting a million milestones is paid once. The page states the time they were counted.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from deadline_watch.board import overview
from deadline_watch.web.auth import unit_of_work
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 300
FRESH_SECONDS = 60


class OverviewCache:
    """The last figures per day, kept FRESH_SECONDS; one per app (`app.state`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple, tuple[float, datetime, overview.Overview]] = {}

    def get(self, key: tuple) -> tuple[datetime, overview.Overview] | None:
        with self._lock:
            found = self._kept.get(key)
        if found is None or time.monotonic() - found[0] > FRESH_SECONDS:
            return None
        return found[1], found[2]

    def put(self, key: tuple, counted_at: datetime, figures: overview.Overview) -> None:
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if k == key}  # drop other days
            self._kept[key] = (time.monotonic(), counted_at, figures)


_cache_lock = threading.Lock()


def _cache_of(request: Request) -> OverviewCache:
    with _cache_lock:
        cache = getattr(request.app.state, "overview_cache", None)
        if cache is None:
            cache = request.app.state.overview_cache = OverviewCache()
    return cache


@router.get("/overview")
def overview_page(request: Request) -> Response:
    with unit_of_work(request) as work:
        cache, key = _cache_of(request), (work.today,)
        cached = cache.get(key)
        if cached is None:
            figures = overview.overview(work.session, today=work.today, settings=work.context.settings)
            counted_at = work.now
            cache.put(key, counted_at, figures)
        else:
            counted_at, figures = cached
        viewer = work.viewer
    return page(
        request, "overview.html", viewer=viewer, nav="overview", o=figures, refresh=REFRESH_SECONDS,
        counted_at=counted_at, weeks_chart=Markup(figures.weeks_svg()), units_chart=Markup(figures.units_svg()),
        levels_chart=Markup(figures.levels_svg()),
    )
