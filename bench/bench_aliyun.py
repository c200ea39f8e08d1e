"""Benchmark of SMS delivery through the Aliyun backend (issue 14): whole delivery passes with
the official SDK against the local fake Alibaba Cloud SMS server.

    .venv/bin/python bench/bench_aliyun.py                  # SQLite: 5,000 uncapped, then caps 20 and 100
    .venv/bin/python bench/bench_aliyun.py --database pg    # the same on PostgreSQL (127.0.0.1:5432/test)

The fake runs in its own process (`deadline-watch fake-aliyun --record ...`) and checks the
ACS3-HMAC-SHA256 signature of every request; the rate figures come from its receive
timestamps. Each run queues fresh rows carrying template variables (as the scan writes
them) and times `run_delivery_pass` end to end: claims, SendSms through the SDK, recording
the outcomes. The machinery is bench_dispatch.py's (the Twilio benchmark).
"""

from __future__ import annotations

from bench_dispatch import bench_arguments, run_benchmark

from deadline_watch.core.config import Settings
from deadline_watch.sms.aliyun_backend import aliyun_backend_from_settings
from deadline_watch.sms.aliyun_templates import TEMPLATE_TEXTS

SIGN_NAME = "成都高新区纪工委"
TEMPLATE_CODES = {kind: f"SMS_{1001 + index}" for index, kind in enumerate(TEMPLATE_TEXTS)}


def settings_for(env: dict[str, str]) -> Settings:
    return Settings.model_validate(
        {
            "sms": {
                "backend": "aliyun",
                "contact": "督查室 028-12345678",
                "aliyun": {"sign_name": SIGN_NAME, "templates": TEMPLATE_CODES},
            },
            "aliyun": {
                "access_key_id": env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                "access_key_secret": env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                "base_url": env["DEADLINE_WATCH_ALIYUN_BASE_URL"],
            },
            "logging": {"level": "error"},
        }
    )


def row_fields(tag: str) -> dict:
    """What the scan writes for a reminder besides the body: its kind and variables."""
    params = {
        "name": "张三", "code": f"GX-{tag}", "project": "天府软件园三期建设", "node": "组织实施",
        "due": "2026年3月9日", "remaining": "剩余7天", "contact": "督查室 028-12345678",
    }
    filled = TEMPLATE_TEXTS["reminder"]
    for name, value in params.items():
        filled = filled.replace("${" + name + "}", value)
    return {"template": "reminder", "template_params": params, "body": f"【{SIGN_NAME}】{filled}"}


if __name__ == "__main__":
    run_benchmark(
        bench_arguments(__doc__, default_count=5_000),
        fake_command="fake-aliyun",
        ready="ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        settings_for=settings_for,
        make_backend=aliyun_backend_from_settings,
        row_fields=row_fields,
    )
