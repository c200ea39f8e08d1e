"""The installation's secret key: signs board sessions and derives officials' link tokens.

The daemon (which writes links into SMS) and the board (which checks them) must use the
same key: set `DEADLINE_WATCH_SECRET_KEY` for both, or let both find the generated key file,
which lives next to the SQLite file (the data directory) or at `web.secret_key_file`.

The file is created with mode 0600 from the start (written to a private temporary file,
then linked into place, so no process ever sees it readable by others or half-written), and
a key file another user owns, or that others may read, is refused: whoever reads it can
forge sessions and links.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import make_url

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.core.logs import get_logger

SECRET_FILE_NAME = "deadline-watch-secret.key"
SECRET_FILE = Path(SECRET_FILE_NAME)


def secret_key_path(settings: Settings) -> Path:
    """Where a generated key is kept: `web.secret_key_file`, else next to the SQLite file,
    else the working directory."""
    if settings.web.secret_key_file is not None:
        return Path(settings.web.secret_key_file)
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / SECRET_FILE_NAME
    return Path(SECRET_FILE_NAME).resolve()


def load_secret_key(configured: str | None, path: Path = SECRET_FILE) -> str:
    """The configured key, else the one kept in `path` (created on first use)."""
    if configured:
        return configured
    log = get_logger()
    key = secrets.token_urlsafe(48)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(key + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_key_file(path)
    except OSError as exc:
        raise ConfigError(f"无法创建会话密钥文件 {path}: {exc.strerror or exc}",
                          f"cannot create the session key file {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    log.warning(
        "web.secret_key_generated",
        path=str(path),
        detail="no web.secret_key configured; generated one and saved it (set DEADLINE_WATCH_SECRET_KEY to choose your own)",
    )
    return key


def _read_key_file(path: Path) -> str:
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ConfigError(f"无法读取会话密钥文件 {path}: {exc.strerror or exc}",
                          f"cannot read the session key file {path}: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "r", encoding="utf-8") as stream:
        status = os.fstat(stream.fileno())
        if status.st_uid != os.getuid():
            raise ConfigError(
                f"会话密钥文件 {path} 属于其他用户 (uid {status.st_uid}),拒绝使用",
                f"the session key file {path} belongs to another user (uid {status.st_uid}); refusing it",
            )
        if status.st_mode & 0o077:
            raise ConfigError(
                f"会话密钥文件 {path} 可被其他用户读取 (权限 {stat.filemode(status.st_mode)}),请执行 chmod 600",
                f"the session key file {path} is readable by others ({stat.filemode(status.st_mode)}); "
                "run chmod 600 on it",
            )
        key = stream.read(4096).strip()
    if not key:
        raise ConfigError(f"会话密钥文件 {path} 为空", f"the session key file {path} is empty")
    get_logger().info("web.secret_key_loaded", path=str(path))
    return key


@lru_cache(maxsize=8)
def _kept(configured: str | None, path: Path) -> str:
    return load_secret_key(configured, path)


def secret_key(settings: Settings) -> str:
    """The key for these settings (read once per process and path)."""
    return _kept(settings.web.secret_key, secret_key_path(settings))
