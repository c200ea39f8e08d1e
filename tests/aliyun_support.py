"""Helpers for the Aliyun tests: settings with a signature, template codes and a contact,
a fake whose approved templates are the texts of sms.aliyun_templates, and a backend on it."""

from __future__ import annotations

from datetime import datetime

from deadline_watch.core.clock import FixedClock
from deadline_watch.core.config import Settings
from deadline_watch.domain.links import link_prefix
from deadline_watch.fakes.aliyun import FakeAliyun
from deadline_watch.sms.aliyun_backend import aliyun_backend_from_settings
from deadline_watch.sms.aliyun_templates import TEMPLATE_TEXTS, template_text

SIGN_NAME = "成都高新区纪工委"
CONTACT = "督查室 028-12345678"
PUBLIC_URL = "https://dw.example.gov.cn"  # the prefix the approved `*_link` texts hold
TEMPLATE_CODES = {kind: f"SMS_{1001 + index}" for index, kind in enumerate(TEMPLATE_TEXTS)}


def aliyun_settings(fake: FakeAliyun | None = None, *, public_url: str | None = None, **sms: object) -> Settings:
    """Aliyun settings (rate high enough never to sleep); pointed at `fake` when given."""
    document: dict = {
        "web": {"public_url": public_url, "secret_key": "k" * 40},
        "sms": {
            "backend": "aliyun",
            "rate_per_second": 10000.0,
            "contact": CONTACT,
            "aliyun": {"sign_name": SIGN_NAME, "templates": TEMPLATE_CODES},
            **sms,
        }
    }
    if fake is not None:
        document["aliyun"] = {
            "access_key_id": fake.access_key_id,
            "access_key_secret": fake.access_key_secret,
            "base_url": fake.base_url,
        }
    return Settings.model_validate(document)


def approved_fake(now: datetime, **options: object) -> FakeAliyun:
    """A fake that knows our sign name and approved templates; its clock is `now` (move it with .clock.set)."""
    return FakeAliyun(
        seed=1,
        sign_names={SIGN_NAME},
        templates={TEMPLATE_CODES[kind]: template_text(kind, link_prefix(PUBLIC_URL)) for kind in TEMPLATE_TEXTS},
        clock=FixedClock(now),
        **options,
    )


def backend_for(fake: FakeAliyun, settings: Settings | None = None):
    return aliyun_backend_from_settings(settings or aliyun_settings(fake), clock=fake.clock)
