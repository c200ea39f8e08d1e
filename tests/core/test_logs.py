"""Log lines never carry a full mobile number or a secret."""

from __future__ import annotations

import io
import json

from deadline_watch.core.logs import configure_logging, get_logger, mask_mobile


def test_mask_mobile_formats():
    assert mask_mobile("+8613800138000") == "+86138****8000"
    assert mask_mobile("发送至 13800138000 成功") == "发送至 138****8000 成功"
    assert mask_mobile("order 2026") == "order 2026"


def test_log_lines_mask_mobiles_and_drop_secrets():
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    get_logger().info("sms.sent", to="+8613800138000", auth_token="abc123", body="致 13800138000")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "sms.sent"
    assert line["to"] == "+86138****8000"
    assert line["auth_token"] == "[redacted]"
    assert "13800138000" not in stream.getvalue()
    assert "abc123" not in stream.getvalue()
