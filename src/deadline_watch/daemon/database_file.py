"""The SQLite file the daemon opened must still be the one it uses.

A removed file (or its directory) leaves the open connections writing into a deleted
inode, silently. Each job first checks that the path still names the same file (device
and inode); if it is gone the job fails as a database fault (logged, retried with
backoff). When a file appears again at the path (restored), the pool is dropped and the
new file is used once its schema checks out.
"""

from __future__ import annotations

import os

from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import DatabaseError
from deadline_watch.core.logs import get_logger


class DatabaseFile:
    def __init__(self, app: AppContext) -> None:
        self.app = app
        self._identity: tuple[int, int] | None = None

    def _path(self) -> str | None:
        url = self.app.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return url.database

    def check(self) -> None:
        path = self._path()
        if path is None:
            return
        try:
            stat = os.stat(path)
        except OSError:
            raise DatabaseError(
                f"数据库文件不存在(被删除或目录被移走): {path}",
                f"the database file is gone (removed, or its directory was): {path}",
            ) from None
        identity = (stat.st_dev, stat.st_ino)
        if self._identity is None:
            self._identity = identity
        elif identity != self._identity:
            # a restored or replaced file: connections to the old inode must not be reused
            get_logger().warning("database.file_replaced", path=path)
            self.app.engine.dispose()
            self._identity = identity
