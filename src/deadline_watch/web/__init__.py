"""The supervision board: app factory, routes, auth, templates, static files."""

from deadline_watch.web.app import create_app
from deadline_watch.web.server import serve

__all__ = ["create_app", "serve"]
