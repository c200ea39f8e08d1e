"""Settings: defaults, TOML, environment overrides, and one clear line for each mistake."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from deadline_watch.core.config import load_settings
from deadline_watch.core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "deadline-watch.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deadline-watch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    settings = load_settings(None, env={})
    assert settings.timezone == "Asia/Shanghai"
    assert settings.reminders.days_before == [7]
    assert settings.reminders.send_window == (time(8, 30), time(20, 0))
    assert [lv.level for lv in settings.escalation.levels] == [1, 2]
    assert "supervisors" in settings.escalation.levels[1].notify
    assert settings.sms.backend == "console"
    assert settings.database.url.startswith("sqlite:///")


def test_example_file_loads_and_matches_defaults():
    settings = load_settings(EXAMPLE, env={})
    defaults = load_settings(None, env={})
    assert settings.model_dump() == defaults.model_dump()


def test_environment_overrides_file(tmp_path):
    path = write(tmp_path, '[database]\nurl = "sqlite:///file.db"\n[sms]\nbackend = "file"\n')
    env = {
        "DEADLINE_WATCH_DB_URL": "postgresql+psycopg://x@h/db",
        "DEADLINE_WATCH_SMS_BACKEND": "console",
        "TWILIO_ACCOUNT_SID": "ACxxx",
    }
    settings = load_settings(path, env=env)
    assert settings.database.url == "postgresql+psycopg://x@h/db"
    assert settings.sms.backend == "console"
    assert settings.twilio.account_sid == "ACxxx"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("colour = 'red'\n", "colour"),
        ("[reminders]\ndays_before = 'seven'\n", "reminders.days_before"),
        ("timezone = 'Mars/Olympus'\n", "timezone"),
        ("[reminders]\nday_mode = 'weekly'\n", "reminders.day_mode"),
        ("[reminders]\nsend_window = ['20:00', '08:30']\n", "reminders.send_window"),
        ("[sms]\nbackend = 'pigeon'\n", "sms.backend"),
        ("[twilio]\nauth_token = 'secret'\n", "[twilio]"),
        ("[escalation]\nlevels = [{after_days_overdue = 0, level = 1}]\n", "escalation.levels"),
        ("[database\n", "TOML"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, text, names):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    message = str(raised.value)
    assert names in message
    assert str(path) in message
    assert "\n" not in message
    assert raised.value.exit_code == 2


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path / "missing.toml", env={})
    assert "missing.toml" in str(raised.value)
