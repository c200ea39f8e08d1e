"""`serve` builds the app once and takes what startup built out of the garbage collector's
full passes (gc.freeze), and the app so built still serves pages."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from deadline_watch.web.server import serving_app


def test_serving_app_freezes_what_startup_built_and_still_serves(board) -> None:
    frozen_before = gc.get_freeze_count()
    try:
        app = serving_app(board.app_context)
        assert gc.get_freeze_count() > frozen_before
        assert not any(o is app for o in gc.get_objects())  # frozen objects are in no generation
        client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        assert client.get("/login").status_code == 200
    finally:
        gc.unfreeze()  # back into the oldest generation, as if never frozen
