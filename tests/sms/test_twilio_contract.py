"""Contract test: every response of the local fake Twilio is a valid Message resource (or
list page) by Twilio's own OpenAPI description, and the fake refuses what Twilio refuses.

The schema is vendored in `tests/sms/twilio_message_openapi.json` (its source and commit are
named inside); `validate` below implements the part of OpenAPI 3.0 that schema uses: type,
nullable, enum, $ref, pattern, min/maxLength and the formats Twilio uses for these fields.
Every property of the schema must be present: Twilio always sends them all.
"""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from deadline_watch.fakes.twilio import FakeTwilio

SPEC = json.loads((Path(__file__).parent / "twilio_message_openapi.json").read_text(encoding="utf-8"))
MESSAGE = SPEC["components"]["schemas"]["api.v2010.account.message"]
TYPES = {"string": str, "integer": int, "object": dict, "array": list, "boolean": bool}


def resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def check_format(value: str, fmt: str | None, where: str) -> list[str]:
    if fmt == "date-time-rfc-2822":
        try:
            parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return [f"{where}: not an RFC 2822 date: {value!r}"]
    if fmt == "phone-number" and not re.fullmatch(r"\+[1-9]\d{1,14}", value):
        return [f"{where}: not an E.164 number: {value!r}"]
    if fmt == "currency" and not re.fullmatch(r"[A-Z]{3}", value):
        return [f"{where}: not a currency code: {value!r}"]
    if fmt == "uri" and not (value.startswith("/") or urlsplit(value).scheme in ("http", "https")):
        return [f"{where}: not a URI: {value!r}"]
    return []


def validate(value: object, schema: dict, where: str = "$") -> list[str]:
    schema = resolve(schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null where the schema does not allow it"]
    expected = TYPES.get(schema.get("type", ""), object)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return [f"{where}: {type(value).__name__} where the schema says {schema.get('type')}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{where}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
        problems += check_format(value, schema.get("format"), where)
    if isinstance(value, dict) and "properties" in schema:
        for name, sub in schema["properties"].items():
            if name not in value:
                problems.append(f"{where}.{name}: missing")
            else:
                problems += validate(value[name], sub, f"{where}.{name}")
        problems += [f"{where}.{name}: not in the schema" for name in value if name not in schema["properties"]]
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += validate(item, schema["items"], f"{where}[{index}]")
    return problems


def test_the_validator_catches_a_dropped_or_mistyped_field() -> None:
    good = {name: None for name in MESSAGE["properties"]} | {"status": "sent", "direction": "outbound-api"}
    assert validate(good, MESSAGE) == []
    assert validate({k: v for k, v in good.items() if k != "num_segments"}, MESSAGE) == ["$.num_segments: missing"]
    assert validate(good | {"error_code": "30003"}, MESSAGE) == ["$.error_code: str where the schema says integer"]
    assert validate(good | {"num_segments": 1}, MESSAGE) == ["$.num_segments: int where the schema says string"]
    assert validate(good | {"status": "gone"}, MESSAGE)
    assert validate(good | {"sid": "SM123"}, MESSAGE)


@pytest.fixture
def fake():
    with FakeTwilio() as server:
        yield server


def api(fake: FakeTwilio, path: str = "") -> str:
    return f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages{path}.json"


def auth(fake: FakeTwilio) -> tuple[str, str]:
    return fake.account_sid, fake.auth_token


@pytest.mark.parametrize("sender", ["from", "messaging_service"])
def test_every_response_of_the_fake_is_a_valid_message(fake: FakeTwilio, sender: str) -> None:
    form = {"To": "+8613800138000", "Body": "【高新区督办】测试", "StatusCallback": "https://board.example/twilio/status"}
    if sender == "from":
        form["From"] = "+15005550006"
    else:
        form["MessagingServiceSid"] = "MG" + "a" * 32
    created = requests.post(api(fake), data=form, auth=auth(fake), timeout=10)
    assert created.status_code == 201, created.text
    assert validate(created.json(), MESSAGE) == []
    sid = created.json()["sid"]
    fetched = requests.get(api(fake, f"/{sid}"), auth=auth(fake), timeout=10)
    assert fetched.status_code == 200 and validate(fetched.json(), MESSAGE) == []
    listed = requests.get(api(fake), params={"To": form["To"]}, auth=auth(fake), timeout=10)
    assert listed.status_code == 200 and validate(listed.json(), SPEC["list_response"]) == []
    assert listed.json()["messages"], "the list shows the message"


@pytest.mark.parametrize(
    "field, value",
    [
        ("MessagingServiceSid", "MG123"),
        ("MessagingServiceSid", "XX" + "a" * 32),
        ("StatusCallback", "not a url"),
        ("StatusCallback", "ftp://board.example/status"),
    ],
)
def test_the_fake_refuses_what_twilio_refuses(fake: FakeTwilio, field: str, value: str) -> None:
    request = SPEC["create_request"]["properties"][field]
    assert validate(value, request) or check_format(value, request.get("format"), field)  # Twilio would refuse it
    form = {"To": "+8613800138000", "Body": "x", "From": "+15005550006", field: value}
    answer = requests.post(api(fake), data=form, auth=auth(fake), timeout=10)
    assert answer.status_code == 400, answer.text
    assert isinstance(answer.json().get("code"), int)
    assert fake.messages == []
