"""The one sanitizer (inspectors/text.py): one matrix of hostile input."""

import pytest

from inspectors.text import clean, clean_line

HOSTILE = [
    ("csi clear", "a\x1b[2Jb", "ab"),
    ("csi color", "\x1b[31mred\x1b[0m", "red"),
    ("8-bit csi", "a\x9b2Jb", "ab"),
    ("osc title bel", "x\x1b]0;TTL\x07y", "xy"),
    ("osc 52 st", "x\x1b]52;c;ZXZpbA==\x1b\\y", "xy"),
    ("8-bit osc", "x\x9d0;T\x9cy", "xy"),
    ("dcs", "x\x1bPqpayload\x1b\\y", "xy"),
    ("apc", "x\x1b_hidden\x1b\\y", "xy"),
    ("c1", "a\x85b\x8ec", "abc"),
    ("nul", "a\x00b", "ab"),
    ("del", "a\x7fb", "ab"),
    ("bel bs", "a\x07\x08b", "ab"),
    ("bidi override", "abc\u202edcba", "abcdcba"),
    ("bidi isolate", "a\u2066b\u2069c", "abc"),
    ("line separator", "a\u2028b", "ab"),
    ("lone surrogate", "a\ud800b", "ab"),
    ("unterminated osc swallows", "a\x1b]0;rest", "a"),
    ("rich markup stays literal", "[bold red]x[/]", "[bold red]x[/]"),
    ("unicode kept", "café ✓ 名前", "café ✓ 名前"),
]


@pytest.mark.parametrize("name,raw,want", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_clean_matrix(name, raw, want):
    assert clean(raw) == want
    assert clean_line(raw) == want


def test_newlines_and_cr():
    assert clean("a\r\nb\tc") == "a b c"
    assert clean("a\r\nb", multiline=True) == "a\nb"
    assert clean_line("a\tb\r") == "a\tb"


def test_overlong():
    assert clean("x" * 50, limit=10) == "x" * 9 + "…"
    out = clean_line("y" * 20, limit=5)
    assert out == "yyyyy… [15 bytes cut]"


def test_none_and_non_str():
    assert clean(None) == ""
    assert clean(42) == "42"
