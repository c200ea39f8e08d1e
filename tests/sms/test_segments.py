from deadline_watch.sms.segments import count_segments, is_gsm7


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
