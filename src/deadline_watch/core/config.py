"""Settings: one TOML file plus a few environment overrides, validated once at start.

Secrets (Twilio credentials, the web session key) come only from the environment so
that the TOML file can be committed to an operations repository.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deadline_watch.core.errors import ConfigError

DEFAULT_CONFIG_PATHS = (Path("deadline-watch.toml"), Path("config/deadline-watch.toml"))

Party = Literal["owner", "lead_leader", "supervisors"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///deadline-watch.db"


class RemindersSettings(_Section):
    days_before: list[Annotated[int, Field(ge=0, le=366)]] = [7]
    send_window: tuple[time, time] = (time(8, 30), time(20, 0))
    day_mode: Literal["calendar", "workdays"] = "calendar"
    # recurring tasks (每月25日前 ...): upcoming occurrences kept as milestones; 1 = the next one only
    recurring_ahead: Annotated[int, Field(ge=1, le=12)] = 1

    @field_validator("days_before")
    @classmethod
    def _unique_sorted(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("needs at least one offset")
        return sorted(set(value), reverse=True)

    @field_validator("send_window")
    @classmethod
    def _window_ordered(cls, value: tuple[time, time]) -> tuple[time, time]:
        if value[0] >= value[1]:
            raise ValueError("window start must be before its end, e.g. [\"08:30\", \"20:00\"]")
        return value


class EscalationLevel(_Section):
    after_days_overdue: Annotated[int, Field(ge=1)]
    level: Annotated[int, Field(ge=1)]
    notify: list[Party] = ["owner", "lead_leader"]


def _default_levels() -> list[EscalationLevel]:
    return [
        EscalationLevel(after_days_overdue=1, level=1, notify=["owner", "lead_leader"]),
        EscalationLevel(after_days_overdue=7, level=2, notify=["owner", "lead_leader", "supervisors"]),
    ]


class EscalationSettings(_Section):
    levels: list[EscalationLevel] = Field(default_factory=_default_levels)

    @field_validator("levels")
    @classmethod
    def _levels_increase(cls, value: list[EscalationLevel]) -> list[EscalationLevel]:
        if not value:
            raise ValueError("needs at least one level")
        ordered = sorted(value, key=lambda lv: lv.after_days_overdue)
        for lower, higher in itertools.pairwise(ordered):
            if higher.level <= lower.level or higher.after_days_overdue == lower.after_days_overdue:
                raise ValueError("levels must rise strictly with after_days_overdue")
        return ordered


class AliyunSmsSettings(_Section):
    """`[sms.aliyun]`: the registered signature and one approved template code per message kind.

    The AccessKey pair is read from the environment only (ALIBABA_CLOUD_ACCESS_KEY_ID /
    ALIBABA_CLOUD_ACCESS_KEY_SECRET); it is refused here.
    """

    sign_name: str | None = None
    region: str = "cn-hangzhou"
    templates: dict[str, str] = {}


class SmsSettings(_Section):
    backend: Literal["console", "file", "twilio", "aliyun"] = "console"
    file: Path = Path("sms-sent.jsonl")
    # A Twilio long code sends about 1 segment per second; a short code or a
    # messaging service with a pool of senders allows far more.
    rate_per_second: Annotated[float, Field(gt=0)] = 1.0
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    signature: str = "【高新区督办】"
    max_segments: Annotated[int, Field(ge=1)] = 2
    templates_dir: Path | None = None
    retry_base_seconds: Annotated[float, Field(gt=0)] = 30.0
    retry_cap_seconds: Annotated[float, Field(gt=0)] = 3600.0
    retry_deadline_hours: Annotated[float, Field(gt=0)] = 24.0
    claim_timeout_seconds: Annotated[float, Field(gt=0)] = 300.0
    batch_size: Annotated[int, Field(ge=1)] = 200
    # the supervision office's contact, carried by every message (e.g. "督查室 028-12345678")
    contact: str | None = None
    # 督办 notices are work notifications: a 退订/TD/STOP reply is recorded but only stops
    # them when this is true
    honour_opt_out: bool = False
    aliyun: AliyunSmsSettings = AliyunSmsSettings()


class AliyunCredentials(_Section):
    """Filled from the environment only; an `[aliyun]` table in the file is refused."""

    access_key_id: str | None = None
    access_key_secret: str | None = None
    base_url: str | None = None


class TwilioSettings(_Section):
    """Filled from the environment only; a `[twilio]` table in the file is refused."""

    account_sid: str | None = None
    auth_token: str | None = None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    base_url: str | None = None


class SchedulerSettings(_Section):
    scan_interval_seconds: Annotated[int, Field(ge=10)] = 300
    delivery_interval_seconds: Annotated[int, Field(ge=1)] = 30
    # a wall-clock jump (against the monotonic clock or the database's) beyond this is held
    max_clock_jump_seconds: Annotated[int, Field(ge=1)] = 3600
    # the daemon's own /healthz and /metrics on 127.0.0.1 (0: not served)
    health_port: Annotated[int, Field(ge=0, le=65535)] = 0
    # how long a manual `deliver`/`tick` waits for a daemon's delivery pass to finish
    lease_wait_seconds: Annotated[int, Field(ge=0)] = 300


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    public_url: str | None = None
    secret_key: str | None = None
    secret_key_file: Path | None = None  # default: next to the SQLite file, else the working directory
    session_max_age_hours: Annotated[int, Field(ge=1)] = 12
    # roles that see officials' full mobile numbers (as tel: links); the others see them masked
    full_mobiles_for: list[Literal["admin", "supervisor", "viewer"]] = ["admin", "supervisor"]


class OfficialsSettings(_Section):
    """The officials' side: personal links in SMS and sign-in codes."""

    # a link works this many days after the last SMS that carried it
    link_valid_days: Annotated[int, Field(ge=1, le=365)] = 30
    code_valid_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    code_max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    codes_per_day: Annotated[int, Field(ge=1, le=50)] = 5


class EvidenceSettings(_Section):
    max_file_mb: Annotated[float, Field(gt=0, le=200)] = 20
    max_files: Annotated[int, Field(ge=1, le=50)] = 10

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


class RegistrySettings(_Section):
    """Bounds of one registry import (CLI and /admin/import alike); see docs/security.md."""

    max_errors: Annotated[int, Field(ge=1, le=100_000)] = 1000
    max_rows: Annotated[int, Field(ge=1, le=1_048_576)] = 200_000
    max_cell_chars: Annotated[int, Field(ge=100, le=100_000)] = 2000
    max_merged_ranges: Annotated[int, Field(ge=0)] = 100_000
    max_shared_strings_mb: Annotated[int, Field(ge=1, le=1024)] = 32
    max_seconds: Annotated[float, Field(gt=0)] = 60.0


class ReportsSettings(_Section):
    dir: Path = Path("reports")
    # wording of the monthly 通报: a bulletin.txt.j2 here overrides the packaged one
    templates_dir: Path | None = None
    issuer: str = "重点项目督办办公室"  # signs the 通报


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(_Section):
    timezone: str = "Asia/Shanghai"
    database: DatabaseSettings = DatabaseSettings()
    reminders: RemindersSettings = RemindersSettings()
    escalation: EscalationSettings = EscalationSettings()
    sms: SmsSettings = SmsSettings()
    twilio: TwilioSettings = TwilioSettings()
    aliyun: AliyunCredentials = AliyunCredentials()
    scheduler: SchedulerSettings = SchedulerSettings()
    web: WebSettings = WebSettings()
    officials: OfficialsSettings = OfficialsSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    reports: ReportsSettings = ReportsSettings()
    registry: RegistrySettings = RegistrySettings()
    logging: LoggingSettings = LoggingSettings()
    source: str = Field(default="<defaults>", exclude=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# environment variable -> (section, key)
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "DEADLINE_WATCH_DB_URL": ("database", "url"),
    "DEADLINE_WATCH_SMS_BACKEND": ("sms", "backend"),
    "DEADLINE_WATCH_SMS_FILE": ("sms", "file"),
    "DEADLINE_WATCH_TIMEZONE": ("", "timezone"),
    "DEADLINE_WATCH_PUBLIC_URL": ("web", "public_url"),
    "DEADLINE_WATCH_SECRET_KEY": ("web", "secret_key"),
    "DEADLINE_WATCH_REPORTS_DIR": ("reports", "dir"),
    "DEADLINE_WATCH_HEALTH_PORT": ("scheduler", "health_port"),
    "TWILIO_ACCOUNT_SID": ("twilio", "account_sid"),
    "TWILIO_AUTH_TOKEN": ("twilio", "auth_token"),
    "TWILIO_FROM_NUMBER": ("twilio", "from_number"),
    "TWILIO_MESSAGING_SERVICE_SID": ("twilio", "messaging_service_sid"),
    "DEADLINE_WATCH_TWILIO_BASE_URL": ("twilio", "base_url"),
    "ALIBABA_CLOUD_ACCESS_KEY_ID": ("aliyun", "access_key_id"),
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ("aliyun", "access_key_secret"),
    "DEADLINE_WATCH_ALIYUN_BASE_URL": ("aliyun", "base_url"),
}
_SECRET_KEYS = ("access_key_id", "access_key_secret", "accesskeyid", "accesskeysecret")


def _read_toml(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"配置文件无法读取: {path}: {exc.strerror}",
            f"cannot read config file {path}: {exc.strerror}",
        ) from None
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(
            f"配置文件 {path} 不是 UTF-8 编码", f"config file {path} is not UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"配置文件 {path} 格式错误: {exc}", f"config file {path} is not valid TOML: {exc}"
        ) from None


def _apply_env(document: dict, env: Mapping[str, str]) -> dict:
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in document.items()}
    for variable, (section, key) in ENV_OVERRIDES.items():
        value = env.get(variable)
        if value is None or value == "":
            continue
        if section:
            table = merged.setdefault(section, {})
            if isinstance(table, dict):
                table[key] = value
        else:
            merged[key] = value
    return merged


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "<top level>"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif "input" in error and not isinstance(error["input"], dict):
        message = f"{message} (got {error['input']!r})"
    return f"{key}: {message}"


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (or the first default path that exists), overlay the environment, validate.

    Raises ConfigError with one line naming the file and the offending key.
    """
    env = os.environ if env is None else env
    if path is None:
        env_path = env.get("DEADLINE_WATCH_CONFIG")
        if env_path:
            path = Path(env_path)
        else:
            path = next((candidate for candidate in DEFAULT_CONFIG_PATHS if candidate.is_file()), None)
    document = _read_toml(path) if path is not None else {}
    source = str(path) if path is not None else "<defaults>"
    if "twilio" in document:
        raise ConfigError(
            f"{source}: [twilio] 只能通过环境变量配置 (TWILIO_ACCOUNT_SID 等)",
            f"{source}: [twilio] secrets are read from the environment only (TWILIO_ACCOUNT_SID, ...)",
        )
    aliyun_table = (document.get("sms") or {}).get("aliyun") if isinstance(document.get("sms"), dict) else None
    if "aliyun" in document or (
        isinstance(aliyun_table, dict) and any(key.lower() in _SECRET_KEYS for key in aliyun_table)
    ):
        raise ConfigError(
            f"{source}: 阿里云 AccessKey 只能通过环境变量配置 (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET)",
            f"{source}: Alibaba Cloud AccessKeys are read from the environment only "
            "(ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET)",
        )
    if "source" in document:
        raise ConfigError(f"{source}: source: 未知配置项", f"{source}: source: unknown key")
    try:
        settings = Settings.model_validate(_apply_env(document, env))
    except ValidationError as exc:
        first = exc.errors()[0]
        detail = _describe(first)
        raise ConfigError(f"配置错误 {source}: {detail}", f"config error in {source}: {detail}") from None
    return settings.model_copy(update={"source": source})
