"""One mobile rule for the registry import and the board's accounts (domain.phones)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from deadline_watch.board import users
from deadline_watch.core.db import transaction
from deadline_watch.domain.phones import MobileError, normalize_mobile
from deadline_watch.registry.cells import CellError, parse_mobile

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "１３８００１３８０００"])
def test_board_and_registry_store_one_form(raw):
    assert normalize_mobile(raw) == parse_mobile(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["010-6552 9988", "12345", "not a number"])
def test_board_and_registry_refuse_the_same_numbers(raw):
    with pytest.raises(MobileError):
        normalize_mobile(raw)
    with pytest.raises(CellError):
        parse_mobile(raw)


def test_a_board_account_refuses_a_landline_the_import_refuses(sessions, monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with transaction(sessions) as session, pytest.raises(users.UserError) as refused:
        users.add_user(session, username="sup", role="supervisor", password="long-enough", mobile="010-6552 9988",
                       now=NOW)
    assert "手机号无效" in refused.value.message_zh and "短信无法送达" in refused.value.message_zh
    with transaction(sessions) as session:
        user = users.add_user(session, username="sup", role="supervisor", password="long-enough",
                              mobile="１３８ ００１３ ８０００", display_name="王督查", now=NOW)
        assert user.person.mobile == "+8613800138000"
