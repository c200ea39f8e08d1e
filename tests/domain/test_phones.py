"""One mobile rule for the registry import and the board's accounts (domain.phones)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadline_watch.board import users
from deadline_watch.core.db import transaction
from deadline_watch.domain import phones
from deadline_watch.domain.phones import MobileError, normalize_mobile
from deadline_watch.registry.cells import CellError, parse_mobile

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


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


# ------------------------------------------------------------ the mainland fast path
_SEPARATOR = st.sampled_from(["", " ", "-"])


@st.composite
def mainland_looking(draw) -> str:
    """Eleven digits starting 1[3-9] (every prefix, valid or not), grouped 3-4-4 by spaces or
    dashes, perhaps after +86 — what the fast path claims to know."""
    digits = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-"]))
    return (prefix + digits[:3] + draw(_SEPARATOR) + digits[3:7] + draw(_SEPARATOR) + digits[7:]
            + draw(st.sampled_from(["", " "])))


def _by_phonenumbers(text: str) -> str | None:
    try:
        return phones._parsed_mobile(text.strip())
    except MobileError:
        return None


@settings(max_examples=3000, deadline=None)
@given(mainland_looking())
def test_the_mainland_fast_path_answers_what_phonenumbers_answers(text):
    expected = _by_phonenumbers(text)
    fast = phones._mainland_mobile(text.strip())
    if fast is not None:  # it answers only when sure; then it is phonenumbers' answer
        assert fast == expected
    if expected is not None:
        assert normalize_mobile(text) == expected


def test_the_fast_path_answers_for_every_mobile_range_but_179():
    """Every 1[3-9]x prefix phonenumbers takes as mobile is answered by the fast path."""
    answered = 0
    for prefix in range(130, 200):
        text = f"{prefix}00138000"[:3] + "12345678"
        if _by_phonenumbers(text) is None:
            assert phones._mainland_mobile(text) is None
            continue
        if prefix == 179:
            assert phones._mainland_mobile(text) is None  # 179xx: a prefix phonenumbers may strip
            continue
        assert phones._mainland_mobile(text) == "+86" + text
        answered += 1
    assert answered > 40


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="+86 -0123456789１３８（）()", max_size=20))
def test_normalize_mobile_agrees_with_phonenumbers_on_any_digit_text(text):
    normalize_mobile.cache_clear()
    try:
        ours = normalize_mobile(text)
    except MobileError as error:
        ours = error.reason_en
    try:
        theirs = phones._parsed_mobile(unicodedata.normalize("NFKC", text).strip())
    except MobileError as error:
        theirs = error.reason_en
    assert ours == theirs


def test_the_fast_path_takes_the_common_forms():
    for text in ("13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000"):
        assert phones._mainland_mobile(text) == "+8613800138000"
