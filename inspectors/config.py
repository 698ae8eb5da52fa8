"""dockscope's own settings: ``$XDG_CONFIG_HOME/dockscope/config.json``.

Keys (all optional)::

    {
      "read_only": false,             # never change the host (also --read-only, DOCKSCOPE_READ_ONLY=1)
      "restart_command": null,        # e.g. "systemctl restart docker"; default: what
                                      # inspectors/supervisor.py finds works here (or none)
      "reload_command": null,         # default: the service manager's reload, else SIGHUP
      "log_buffer_lines": 50000,      # ring buffer per log pane
      "log_tail": 500,                # lines fetched when a log opens
      "daemon_log": null,             # a daemon log file to use instead of the detected source
      "theme": null                   # any Textual theme name
    }

Environment overrides: ``DOCKSCOPE_CONFIG`` (path), ``DOCKSCOPE_READ_ONLY``,
``DOCKSCOPE_RESTART_COMMAND``, ``DOCKSCOPE_DAEMON_LOG``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields


@dataclass
class Settings:
    read_only: bool = False
    restart_command: str | None = None
    reload_command: str | None = None
    log_buffer_lines: int = 50_000
    log_tail: int = 500
    daemon_log: str | None = None
    theme: str | None = None
    path: str | None = None
    error: str | None = None  # the config file could not be read


def config_path() -> str:
    if os.environ.get("DOCKSCOPE_CONFIG"):
        return os.environ["DOCKSCOPE_CONFIG"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "dockscope", "config.json")


def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "on")


def load_settings() -> Settings:
    s = Settings(path=config_path())
    try:
        with open(s.path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("top level must be an object")
        known = {f.name for f in fields(Settings)} - {"path", "error"}
        for k, v in data.items():
            if k in known:
                setattr(s, k, v)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        s.error = f"{s.path}: {e}"
    if _truthy(os.environ.get("DOCKSCOPE_READ_ONLY")):
        s.read_only = True
    if os.environ.get("DOCKSCOPE_RESTART_COMMAND"):
        s.restart_command = os.environ["DOCKSCOPE_RESTART_COMMAND"]
    if os.environ.get("DOCKSCOPE_DAEMON_LOG"):
        s.daemon_log = os.environ["DOCKSCOPE_DAEMON_LOG"]
    s.read_only = bool(s.read_only)
    return s
