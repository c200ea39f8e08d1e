from hypothesis import given
from hypothesis import strategies as st

from deadline_watch.sms.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments, is_gsm7


def test_plain_ascii_fits_160_in_one_segment_and_153_per_part_after():
    assert count_segments("a" * 160) == 1
    assert count_segments("a" * 161) == 2
    assert count_segments("a" * 306) == 2
    assert count_segments("a" * 307) == 3


def test_any_chinese_character_switches_to_ucs2_70_then_67():
    assert count_segments("中" * 70) == 1
    assert count_segments("中" * 71) == 2
    assert count_segments("中" * 134) == 2
    assert count_segments("中" * 135) == 3
    assert count_segments("a" * 69 + "中") == 1
    assert count_segments("a" * 70 + "中") == 2


def test_gsm_extension_characters_cost_two_septets():
    assert is_gsm7("€[]{}")
    assert count_segments("€" * 80) == 1
    assert count_segments("€" * 81) == 2


def test_characters_outside_the_bmp_take_two_ucs2_units():
    assert count_segments("😀" * 35) == 1
    assert count_segments("😀" * 36) == 2


def test_empty_text_is_zero_segments():
    assert count_segments("") == 0


# the definition before issue 17 (a character-by-character test), kept as the oracle
def _units_spelled_out(text: str) -> int:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        return sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    return len(text.encode("utf-16-le")) // 2


@given(st.text(alphabet=st.sampled_from(GSM7_BASIC + GSM7_EXTENSION), min_size=140, max_size=400)
       | st.text(alphabet=st.sampled_from(GSM7_BASIC + "中【】😀é€ü"), min_size=60, max_size=200)
       | st.text(max_size=200))
def test_segment_count_agrees_with_the_character_by_character_definition(text):
    assert is_gsm7(text) == all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)
    for end in range(len(text) + 1):  # every prefix: one of them sits on a segment boundary
        units = _units_spelled_out(text[:end])
        single, multi = (160, 153) if is_gsm7(text[:end]) else (70, 67)
        assert count_segments(text[:end]) == (0 if units == 0 else 1 if units <= single else -(-units // multi))
