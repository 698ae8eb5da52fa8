"""The one terminal sanitizer: every string from the engine, a container, a log
or a file goes through :func:`clean` (or :func:`clean_line` for log lines)
before it reaches a terminal, whichever front prints it. JSON output is the
exception: ``json.dumps`` escapes control characters itself.

Removed: ESC sequences (CSI, OSC, DCS/SOS/PM/APC, two-byte ESC x) and their
8-bit C1 forms, the remaining C0 and C1 controls and DEL, NUL, bidi
embeddings/overrides/isolates (they reorder what is displayed), line and
paragraph separators, lone surrogates. Tab, CR and LF become one space unless
``multiline`` (then LF is kept, CR dropped). Rich markup is not interpreted
here or anywhere: the console renders :class:`rich.text.Text`, never markup.
"""

from __future__ import annotations

import re
from typing import Any

MAX_LINE_CHARS = 16384  # a log line longer than this is cut (its tail counted)

# ESC sequences: CSI, OSC (BEL or ST terminated), DCS/SOS/PM/APC (ST terminated),
# two-byte ESC x, and their 8-bit C1 forms. An unterminated string sequence
# swallows the rest of the line (a terminal would too).
_ESC_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS SOS PM APC
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (nF, Fp, Fe, Fs)
)
_ESC_START = ("\x1b", "\x9b", "\x9d", "\x90", "\x98", "\x9e", "\x9f")
_CTRL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CTRL_RE = re.compile(f"[{_CTRL}]")
_SPACE_RE = re.compile(r"[\t\r\n]+")
_MULTI_RE = re.compile(r"[\t\r]+")


def _strip(s: str) -> str:
    if any(c in s for c in _ESC_START):
        s = _ESC_RE.sub("", s)
    return _CTRL_RE.sub("", s)


def clean(value: Any, multiline: bool = False, limit: int | None = None) -> str:
    """``value`` made inert for a terminal. ``None`` becomes ``""``.

    One line unless ``multiline``; at most ``limit`` characters (``…`` marks a cut).
    """
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if not s.isprintable():  # fast path: isprintable() is False for all we remove
        if multiline:
            s = _strip(_MULTI_RE.sub(lambda m: "" if m.group() == "\r" else " ", s))
        else:
            s = _strip(_SPACE_RE.sub(" ", s))
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return s


def clean_line(text: str, limit: int = MAX_LINE_CHARS, cut_bytes: int = 0) -> str:
    """One log line made inert (tab kept); longer than ``limit`` keeps its head
    and says ``… [N bytes cut]`` (N in UTF-8 bytes, plus ``cut_bytes`` already cut)."""
    if len(text) <= limit and not cut_bytes and text.isprintable():
        return text
    if not text.isprintable():
        text = _strip(text).replace("\n", "").replace("\r", "")
    if len(text) > limit:
        cut_bytes += len(text[limit:].encode("utf-8", "replace"))
        text = text[:limit]
    if cut_bytes:
        text = f"{text}… [{cut_bytes} bytes cut]"
    return text


def clean_json_free(obj: Any) -> Any:
    """A structure with every string cleaned (for text renderings of JSON-ish data)."""
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, dict):
        return {clean(k): clean_json_free(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json_free(v) for v in obj]
    return obj
