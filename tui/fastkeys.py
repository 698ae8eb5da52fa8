"""Focus keys for screens with text fields, safe for fast typing.

The app hands each key to the focused widget's queue as soon as it reads it;
a plain ``tab`` binding only runs when the field gets to it, so in a burst
(``web`` TAB ``db`` TAB ``8080``, pasted or typed fast over SSH) the keys
after the tab were already queued on the first field. As priority bindings,
tab and shift+tab move the focus at the app before the next key is handed on.
"""

from __future__ import annotations

from textual.binding import Binding

FOCUS_BINDINGS = [
    Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
]
