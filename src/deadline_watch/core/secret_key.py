"""The installation's secret key: signs board sessions and derives officials' link tokens.

The daemon (which writes links into SMS) and the board (which checks them) must use the
same key: set `DEADLINE_WATCH_SECRET_KEY` for both, or run both from the directory that
holds the generated key file.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from deadline_watch.core.config import Settings
from deadline_watch.core.logs import get_logger

SECRET_FILE = Path("deadline-watch-secret.key")


def load_secret_key(configured: str | None, path: Path = SECRET_FILE) -> str:
    """The configured key, else one kept in `path` (created with a random key on first use)."""
    if configured:
        return configured
    return _kept_key(path.resolve())


@lru_cache(maxsize=4)
def _kept_key(path: Path) -> str:
    log = get_logger()
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            log.info("web.secret_key_loaded", path=str(path))
            return key
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    log.warning(
        "web.secret_key_generated",
        path=str(path),
        detail="no web.secret_key configured; generated one and saved it (set DEADLINE_WATCH_SECRET_KEY to choose your own)",
    )
    return key


def secret_key(settings: Settings) -> str:
    return load_secret_key(settings.web.secret_key)
