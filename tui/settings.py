"""The console's own choices (theme, last pane), kept under the XDG config
dir in ``dockscope/ui.json`` beside the settings file. Written 0600 to a new
file renamed into place; a broken or missing file means the defaults."""

from __future__ import annotations

import json
import os
from typing import Any

KEYS = ("theme", "pane")


def ui_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "dockscope", "ui.json")


def load_ui() -> dict[str, Any]:
    try:
        with open(ui_path(), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if k in KEYS and isinstance(v, str)}
        if isinstance(data, dict)
        else {}
    )


def save_ui(**choices: str) -> bool:
    """Merge ``choices`` into the file; False (and nothing left behind) if it cannot be written."""
    data = load_ui()
    data.update({k: v for k, v in choices.items() if k in KEYS and isinstance(v, str)})
    path = ui_path()
    from actions.files import write_private  # the one private-file writer (0600, no symlinks)
    from actions.validate import ActionError

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_private(path, json.dumps(data, indent=2))
    except (OSError, ActionError):
        return False
    return True
