"""The generated session key: created 0600 from the start, next to the SQLite file, and a
key file others may read or another user owns is refused."""

from __future__ import annotations

import os
import stat

import pytest

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.core.secret_key import SECRET_FILE_NAME, load_secret_key, secret_key_path


def test_the_key_file_lives_next_to_the_sqlite_file_or_where_configured(tmp_path):
    settings = Settings.model_validate({"database": {"url": f"sqlite:///{tmp_path}/data/dw.db"}})
    assert secret_key_path(settings) == tmp_path / "data" / SECRET_FILE_NAME
    configured = Settings.model_validate({"web": {"secret_key_file": str(tmp_path / "k")}})
    assert secret_key_path(configured) == tmp_path / "k"


def test_a_new_key_file_is_0600_and_reused(tmp_path):
    old = os.umask(0)  # even a permissive umask must not open a window
    try:
        path = tmp_path / SECRET_FILE_NAME
        key = load_secret_key(None, path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(None, path) == key and len(key) > 40
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE_NAME]  # no temporary left behind


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / SECRET_FILE_NAME
    load_secret_key(None, path)
    path.chmod(0o644)
    with pytest.raises(ConfigError) as raised:
        load_secret_key(None, path)
    assert "chmod 600" in raised.value.message


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner needs root")
def test_a_key_file_owned_by_another_user_is_refused(tmp_path):
    path = tmp_path / SECRET_FILE_NAME
    load_secret_key(None, path)
    os.chown(path, 12345, -1)
    with pytest.raises(ConfigError) as raised:
        load_secret_key(None, path)
    assert "belongs to another user" in raised.value.message


def test_a_configured_key_needs_no_file(tmp_path):
    assert load_secret_key("configured-key", tmp_path / "never") == "configured-key"
    assert not (tmp_path / "never").exists()
