"""The CSV reader's check for files that mix UTF-8 and GBK lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deadline_watch.registry.reader import _is_utf8_text


def _strict_utf8_cjk(line: bytes) -> bool:
    """The definition the reader's check must agree with: the bytes decode as UTF-8 and
    hold a character of three or more bytes."""
    try:
        return any(char >= "\u0800" for char in line.decode("utf-8"))
    except UnicodeDecodeError:
        return False


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=40),
                 st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass")),
                 st.text(alphabet=st.characters(codec="gb18030"), max_size=20).map(lambda text: text.encode("gb18030"))))
def test_the_mixed_encoding_check_of_a_line_is_strict_utf8_with_cjk(line):
    """The reader decodes a chunk once with surrogateescape and looks at each line's text."""
    line = line.replace(b"\n", b"")
    assert _is_utf8_text(line.decode("utf-8", "surrogateescape")) == _strict_utf8_cjk(line)
