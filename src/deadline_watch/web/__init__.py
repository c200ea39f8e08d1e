"""The supervision board: app factory, routes, auth, templates, static files."""

from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
