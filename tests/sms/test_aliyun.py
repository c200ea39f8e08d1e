"""The Aliyun backend's configuration, templates and transport against the fake (real SDK)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta

import pytest

from aliyun_support import CONTACT, PUBLIC_URL, SIGN_NAME, TEMPLATE_CODES, aliyun_settings, approved_fake, backend_for
from deadline_watch.cli import main
from deadline_watch.core.config import load_settings
from deadline_watch.core.errors import ConfigError, SmsError
from deadline_watch.domain.links import link_prefix, link_url
from deadline_watch.fakes.aliyun import FakeAliyun, Scripted
from deadline_watch.sms.aliyun_backend import mainland_number, require_aliyun_settings
from deadline_watch.sms.aliyun_templates import OFFICIALS_KINDS, TEMPLATE_TEXTS, fill, kind_of, template_text, variables
from deadline_watch.sms.error_codes import ErrorClass, classify
from deadline_watch.sms.messages import LINKED_TEMPLATES, clear_template_cache, date_text, level_text, render_sms
from deadline_watch.sms.segments import count_segments
from factories import outgoing_sms

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
# Realistic long names from a district's key-project list
LONG_PROJECT = "成都高新区天府国际生物城新一代生物医药创新孵化园区三期基础设施建设工程"
LONG_UNIT = "成都高新区新经济发展局(成都高新区数字经济产业发展服务中心)"
TEMPLATES = ("reminder", "escalation_owner", "escalation_lead_leader", "escalation_supervisors")
TOKEN = "Ab3_dEf-9hIjKlMnOpQrStUv"  # 24 URL-safe characters, as domain.links derives them
LINK = link_url(PUBLIC_URL, TOKEN)


def context(template: str) -> dict:
    values = {
        "person_name": "欧阳建国" if template != "escalation_supervisors" else "王督查",
        "project_name": LONG_PROJECT,
        "project_code": "CDGX-2026-ZD-0137",
        "milestone": "阶段成果",
        "unit": LONG_UNIT,
        "owner_name": "欧阳建国",
        "due_date_text": date_text(date(2026, 12, 28)),
        "day_unit": "天",
        "days_left": 7,
        "days_overdue": 15,
        "level": 2,
        "level_text": level_text(2),
        "reason": "佐证材料不完整,请补充竣工验收报告扫描件及监理单位意见后重新申报。",
    }
    return values


def provider_params(params: dict[str, str], kind: str) -> dict[str, str]:
    """What SendSms carries for a row: the link replaced by its token, the text's variables only."""
    values = {**params, "token": params["link"].removeprefix(link_prefix(PUBLIC_URL))} if "link" in params else params
    return {name: values[name] for name in variables(kind)}


# ---------------------------------------------------------------- configuration


def test_access_keys_in_the_toml_file_are_refused(tmp_path):
    for text in ("[aliyun]\naccess_key_id = 'x'\n", "[sms.aliyun]\naccess_key_secret = 'x'\n"):
        path = tmp_path / "deadline-watch.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as raised:
            load_settings(path, env={})
        assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in str(raised.value) and raised.value.exit_code == 2


def test_credentials_and_base_url_come_from_the_environment(tmp_path):
    path = tmp_path / "deadline-watch.toml"
    path.write_text('[sms]\nbackend = "aliyun"\n[sms.aliyun]\nsign_name = "成都高新区纪工委"\n', encoding="utf-8")
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIxxx",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret",
        "DEADLINE_WATCH_ALIYUN_BASE_URL": "http://127.0.0.1:8766",
    }
    settings = load_settings(path, env=env)
    assert (settings.aliyun.access_key_id, settings.aliyun.base_url) == ("LTAIxxx", "http://127.0.0.1:8766")
    assert settings.sms.aliyun.sign_name == "成都高新区纪工委" and settings.sms.aliyun.region == "cn-hangzhou"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"aliyun": {"access_key_secret": None}}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        ({"sms": {"aliyun": {"sign_name": None}}}, "sign_name"),
        ({"sms": {"aliyun": {"templates": {"reminder": "SMS_1"}}}}, "escalation_owner"),
        ({"sms": {"contact": None}}, "sms.contact"),
        ({"sms": {"contact": "督查室" * 12}}, "35"),
    ],
)
def test_start_up_check_names_what_is_missing(change, named):
    document = aliyun_settings().model_dump(exclude={"source"})
    document["aliyun"] = {"access_key_id": "id", "access_key_secret": "secret"}
    for section, values in change.items():
        for key, value in values.items():
            if isinstance(value, dict):
                document[section][key] = {**document[section][key], **value}
            else:
                document[section][key] = value
    with pytest.raises(ConfigError) as raised:
        require_aliyun_settings(type(aliyun_settings()).model_validate(document))
    assert named in str(raised.value) and raised.value.exit_code == 2


def test_link_and_officials_kinds_are_required_only_with_a_public_url():
    plain = {kind: code for kind, code in TEMPLATE_CODES.items() if "link" not in kind
             and kind not in OFFICIALS_KINDS}
    settings = aliyun_settings()
    settings = settings.model_copy(update={
        "aliyun": settings.aliyun.model_copy(update={"access_key_id": "i", "access_key_secret": "s"}),
        "sms": settings.sms.model_copy(update={"aliyun": settings.sms.aliyun.model_copy(update={"templates": plain})}),
    })
    require_aliyun_settings(settings)
    public = settings.model_copy(update={"web": settings.web.model_copy(update={"public_url": "https://dub.example.gov.cn"})})
    with pytest.raises(ConfigError) as raised:
        require_aliyun_settings(public)
    assert "reminder_link" in str(raised.value) and "sign_in_code" in str(raised.value)


def test_link_kinds_are_required_with_a_public_url_for_the_kinds_that_carry_the_link():
    settings = aliyun_settings(public_url=PUBLIC_URL)
    settings = settings.model_copy(update={"aliyun": settings.aliyun.model_copy(update={"access_key_id": "i", "access_key_secret": "s"})})
    require_aliyun_settings(settings)
    for kind in ("reminder_link", "escalation_owner_link", "escalation_lead_leader_link", *OFFICIALS_KINDS):
        templates = {name: code for name, code in TEMPLATE_CODES.items() if name != kind}
        without = settings.model_copy(update={"sms": settings.sms.model_copy(update={
            "aliyun": settings.sms.aliyun.model_copy(update={"templates": templates})})})
        with pytest.raises(ConfigError, match=kind):
            require_aliyun_settings(without)
    assert "escalation_supervisor_link" not in TEMPLATE_TEXTS  # the supervisors' notice carries no link


@pytest.mark.parametrize(
    ("public_url", "templates", "named"),
    [
        (None, {"reminder": "SMS_1"}, "escalation_owner"),
        (PUBLIC_URL, {kind: code for kind, code in TEMPLATE_CODES.items() if kind != "reminder_link"}, "reminder_link"),
    ],
)
def test_deliver_exits_2_naming_the_missing_template_kind(db_url, tmp_path, capsys, monkeypatch, public_url, templates, named):
    config = tmp_path / "deadline-watch.toml"
    codes = ", ".join(f'{kind} = "{code}"' for kind, code in templates.items())
    web = f'[web]\npublic_url = "{public_url}"\nsecret_key = "{"k" * 40}"\n' if public_url else ""
    config.write_text(
        '[sms]\nbackend = "aliyun"\ncontact = "督查室 028-12345678"\n'
        f'[sms.aliyun]\nsign_name = "成都高新区纪工委"\ntemplates = {{ {codes} }}\n{web}',
        encoding="utf-8",
    )
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    monkeypatch.delenv("DEADLINE_WATCH_SMS_BACKEND", raising=False)
    monkeypatch.delenv("DEADLINE_WATCH_PUBLIC_URL", raising=False)
    assert main(["--config", str(config), "--db", db_url, "deliver"]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


# ---------------------------------------------------------------- templates and lengths


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_aliyun_text_filled_with_the_variables_reads_exactly_like_the_packaged_template(template):
    clear_template_cache()
    settings = aliyun_settings()
    rendered = render_sms(template, settings, **context(template))
    kind = kind_of(template)
    assert set(rendered.params) == set(variables(kind))
    assert rendered.body == f"【{SIGN_NAME}】" + fill(kind, rendered.params)
    assert all(isinstance(value, str) and 0 < len(value) <= 35 for value in rendered.params.values())


@pytest.mark.parametrize("template", sorted(LINKED_TEMPLATES))
def test_the_link_text_filled_with_the_token_reads_exactly_like_the_packaged_template_with_the_link(template):
    clear_template_cache()
    rendered = render_sms(template, aliyun_settings(public_url=PUBLIC_URL), **context(template), link=LINK)
    kind = kind_of(template, linked=True)
    assert "${link}" not in TEMPLATE_TEXTS[kind] and "${token}" in TEMPLATE_TEXTS[kind]
    sent = provider_params(rendered.params, kind)
    assert sent["token"] == TOKEN
    assert rendered.body == f"【{SIGN_NAME}】" + fill(kind, sent, link_prefix(PUBLIC_URL))
    assert all(isinstance(value, str) and 0 < len(value) <= 35 for value in sent.values())


@pytest.mark.parametrize("template", sorted(LINKED_TEMPLATES))
def test_with_a_link_long_names_keep_every_message_within_3_segments(template):
    clear_template_cache()
    rendered = render_sms(template, aliyun_settings(public_url=PUBLIC_URL), **context(template), link=LINK)
    assert rendered.segments == count_segments(rendered.body) <= 3, rendered.body
    assert rendered.body.endswith(" " + LINK) and CONTACT not in rendered.body
    print(f"{template}: {len(rendered.body)} chars, {rendered.segments} segments, project {rendered.params['project']}")


@pytest.mark.parametrize(("template", "limit"), [(name, 2 if name == "reminder" else 3) for name in TEMPLATES])
def test_long_names_keep_reminders_within_2_segments_and_escalations_within_3(template, limit):
    clear_template_cache()
    for settings in (aliyun_settings(), aliyun_settings().model_copy(update={"sms": aliyun_settings().sms.model_copy(update={"backend": "console"})})):
        rendered = render_sms(template, settings, **context(template))
        assert rendered.segments == count_segments(rendered.body) <= limit, rendered.body
        assert CONTACT in rendered.body or template == "escalation_supervisors"
        assert "CDGX-2026-ZD-0137" in rendered.body and "2026年12月28日" in rendered.body


def test_supervisors_are_addressed_by_name_without_the_official_greeting():
    rendered = render_sms("escalation_supervisors", aliyun_settings(), **context("escalation_supervisors"))
    assert rendered.body.startswith(f"【{SIGN_NAME}】王督查:") and "同志" not in rendered.body.split(":")[0]


# ---------------------------------------------------------------- transport against the fake


def test_send_carries_number_sign_template_variables_and_out_id():
    with approved_fake(NOW) as fake:
        params = {name: f"值{index}" for index, name in enumerate(variables("reminder"))}
        result = backend_for(fake).send(
            outgoing_sms(to="+8613912345678", notification_id=42, template="reminder", template_params=params)
        )
        (message,) = fake.messages
    assert result.provider_message_id == message.biz_id
    assert (message.phone, message.sign_name, message.template_code, message.out_id) == (
        "13912345678", SIGN_NAME, TEMPLATE_CODES["reminder"], "42",
    )
    assert message.params == params and message.content == f"【{SIGN_NAME}】" + fill("reminder", params)


def test_a_link_under_another_prefix_goes_out_as_the_plain_template_with_the_contact():
    """A row queued before `web.public_url` changed: no approved text holds its link."""
    rendered = render_sms("reminder", aliyun_settings(public_url=PUBLIC_URL), **context("reminder"),
                          link=link_url("https://old.example.gov.cn", TOKEN))
    with approved_fake(NOW) as fake:
        backend_for(fake, aliyun_settings(fake, public_url=PUBLIC_URL)).send(
            outgoing_sms(notification_id=3, template="reminder", template_params=rendered.params)
        )
        linked = backend_for(fake, aliyun_settings(fake, public_url=PUBLIC_URL + "/")).send(
            outgoing_sms(notification_id=4, template="reminder",
                         template_params={**rendered.params, "link": LINK})
        )
        plain, with_link = fake.messages
    assert plain.template_code == TEMPLATE_CODES["reminder"] and plain.params["contact"] == CONTACT
    assert "token" not in plain.params and "link" not in plain.params
    assert with_link.template_code == TEMPLATE_CODES["reminder_link"] and with_link.params["token"] == TOKEN
    assert linked.provider_message_id == with_link.biz_id and with_link.content.endswith(" " + LINK)


def test_a_non_mainland_number_is_refused_before_any_request():
    with approved_fake(NOW) as fake:
        with pytest.raises(SmsError) as raised:
            backend_for(fake).send(outgoing_sms(to="+14155550100", notification_id=1, template="reminder", template_params={}))
        assert fake.requests_seen == 0
    assert classify(raised.value) is ErrorClass.PERMANENT
    assert mainland_number("+8613800138000") == "13800138000" and mainland_number("+862812345678") is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", ErrorClass.TRANSIENT),
        ("Throttling.User", ErrorClass.TRANSIENT),
        ("ServiceUnavailable", ErrorClass.TRANSIENT),
        ("isv.MOBILE_NUMBER_ILLEGAL", ErrorClass.PERMANENT),
        ("isv.BLACK_KEY_CONTROL_LIMIT", ErrorClass.PERMANENT),
        ("isv.AMOUNT_NOT_ENOUGH", ErrorClass.AUTH),
        ("isv.SMS_SIGNATURE_ILLEGAL", ErrorClass.AUTH),
        ("isv.SMS_TEMPLATE_ILLEGAL", ErrorClass.AUTH),
        ("InvalidAccessKeyId.NotFound", ErrorClass.AUTH),
        ("SignatureDoesNotMatch", ErrorClass.AUTH),
    ],
)
def test_each_provider_answer_is_classified_through_the_one_table(code, expected):
    with approved_fake(NOW, error_code=code) as fake:
        with pytest.raises(SmsError) as raised:
            backend_for(fake).send(
                outgoing_sms(notification_id=1, template="reminder", template_params={n: "x" for n in variables("reminder")})
            )
    assert raised.value.code == code and classify(raised.value) is expected


def test_unsigned_or_badly_signed_requests_are_refused_by_the_fake():
    with FakeAliyun() as fake:
        request = urllib.request.Request(f"{fake.base_url}/?PhoneNumbers=13800138000", method="POST",
                                         headers={"x-acs-action": "SendSms", "Authorization": "ACS3-HMAC-SHA256 Credential=x"})
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=5)
        body = json.loads(raised.value.read())
    assert raised.value.code == 400 and body["Code"] == "IncompleteSignature" and {"RequestId", "HostId", "Recommend"} <= set(body)


def test_an_unknown_template_or_sign_name_or_missing_variable_is_the_services_error():
    with approved_fake(NOW) as fake:
        backend = backend_for(fake)
        for message, code in (
            (outgoing_sms(notification_id=1, template="reminder", template_params={"name": "x"}), "isv.TEMPLATE_MISSING_PARAMETERS"),
            (outgoing_sms(notification_id=1, template="reminder", template_params={n: "长" * 36 for n in variables("reminder")}),
             "isv.PARAM_LENGTH_LIMIT"),
        ):
            with pytest.raises(SmsError) as raised:
                backend.send(message)
            assert raised.value.code == code
        fake.sign_names = {"另一个签名"}
        with pytest.raises(SmsError) as raised:
            backend.send(outgoing_sms(notification_id=1, template="reminder", template_params={n: "x" for n in variables("reminder")}))
        assert raised.value.code == "isv.SMS_SIGNATURE_ILLEGAL"
        assert fake.messages == []


def test_find_sent_matches_the_out_id_on_the_days_between_and_misses_others():
    with approved_fake(NOW) as fake:
        backend = backend_for(fake)
        params = {n: "x" for n in variables("reminder")}
        fake.script(Scripted(drop=True, accept=True))
        with pytest.raises(SmsError):
            backend.send(outgoing_sms(to="+8613900000009", notification_id=7, template="reminder", template_params=params))
        later = NOW + timedelta(days=2)
        found = backend.find_sent("+8613900000009", "", NOW - timedelta(days=1), notification_id=7, until=later)
        assert found is not None and found.provider_message_id == "outid:7"
        assert backend.find_sent("+8613900000009", "", NOW, notification_id=8, until=later) is None
        # one QuerySendDetails per Beijing day: Nov 30 and Dec 1 (found), then Dec 1, 2 and 3
        assert fake.queries_seen == 2 + 3


def test_fake_aliyun_command_prints_the_environment_and_records(tmp_path):
    record = tmp_path / "record.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "deadline_watch", "fake-aliyun", "--port", "0", "--record", str(record)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        env = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[1:])
        assert env["DEADLINE_WATCH_SMS_BACKEND"] == "aliyun"
        settings = aliyun_settings().model_copy(update={"aliyun": aliyun_settings().aliyun.model_copy(update={
            "access_key_id": env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            "access_key_secret": env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            "base_url": env["DEADLINE_WATCH_ALIYUN_BASE_URL"],
        })})
        from deadline_watch.sms.aliyun_backend import aliyun_backend_from_settings

        aliyun_backend_from_settings(settings).send(
            outgoing_sms(notification_id=5, template="reminder", template_params={n: "x" for n in variables("reminder")})
        )
        deadline = time.monotonic() + 10
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(record.read_text(encoding="utf-8").splitlines()[0])["out_id"] == "5"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_every_kind_sent_has_a_template_text():
    sent = {kind_of(name) for name in TEMPLATES} | {kind_of(name, linked=True) for name in LINKED_TEMPLATES}
    assert set(TEMPLATE_TEXTS) == sent | {"sign_in_code"}


def test_aliyun_templates_command_prints_each_required_text_with_the_deployments_link_prefix(tmp_path, capsys, monkeypatch):
    config = tmp_path / "deadline-watch.toml"
    config.write_text(f'[web]\npublic_url = "{PUBLIC_URL}/"\n', encoding="utf-8")
    monkeypatch.delenv("DEADLINE_WATCH_PUBLIC_URL", raising=False)
    assert main(["--config", str(config), "aliyun-templates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    printed = dict(zip((line.removeprefix("# ") for line in lines[0::2]), lines[1::2], strict=True))
    assert set(printed) == {"reminder", "escalation_owner", "escalation_lead_leader", "escalation_supervisor",
                            "reminder_link", "escalation_owner_link", "escalation_lead_leader_link", *OFFICIALS_KINDS}
    assert printed["reminder_link"].endswith(" https://dw.example.gov.cn/m/${token}")
    assert printed["reminder"] == TEMPLATE_TEXTS["reminder"] and "{link_prefix}" not in "".join(printed.values())


def test_docs_show_every_text_exactly_as_it_is_to_be_filed():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "sms.md").read_text(encoding="utf-8")
    for kind in TEMPLATE_TEXTS:
        assert f"| `{kind}` | `{template_text(kind, link_prefix(PUBLIC_URL))}` |" in docs, kind
