"""`serve`: run the board with uvicorn (127.0.0.1 by default)."""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

from deadline_watch.core.context import AppContext
from deadline_watch.core.logs import get_logger
from deadline_watch.web.app import create_app


def serve(app_context: AppContext, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted. The schema is checked first so a stale database fails fast."""
    app_context.checked_sessions()
    app = serving_app(app_context)
    get_logger().info("web.serving", url=f"http://{host}:{port}/")
    # X-Forwarded-For is believed only from a proxy on this machine, so that login throttling
    # counts real client addresses behind nginx and cannot be dodged by a forged header.
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False)
    uvicorn.Server(config).run()


def serving_app(app_context: AppContext) -> FastAPI:
    """The app, with everything built so far (modules, mappers, templates, settings: ~150,000
    objects) moved out of the garbage collector's sight. They live as long as the process;
    without this every full collection walked them all again — about 0.1 s of CPU, landing
    on whichever request happened to trigger it (once every few dozen board pages)."""
    app = create_app(app_context)
    gc.collect()
    gc.freeze()
    return app
