"""Muted and acknowledged doctor findings, persisted under the XDG config dir.

``$XDG_CONFIG_HOME/dockscope/mutes.json`` (or next to ``DOCKSCOPE_CONFIG``)::

    {"rules": {"container_not_listening": {"state": "muted", "at": 1764550000}},
     "findings": {"port_conflict:web,8080/tcp": {"state": "acked", "at": ...}}}

* muted: hidden from the default views (``--all``/``--show-muted`` and JSON still
  carry them, marked);
* acknowledged: still shown, marked "ack", and not counted in the exit code.

A key is a rule id (the whole rule) or ``rule:objects`` as
:func:`inspectors.doctor.findings.finding_key` builds it. UI-free; the file is
written 0600 through :func:`actions.files.write_private` (no symlinks followed).
"""

from __future__ import annotations

import json
import os
import time

STATES = ("muted", "acked")


def mutes_path() -> str:
    from inspectors.config import config_path

    return os.path.join(os.path.dirname(config_path()), "mutes.json")


class MuteStore:
    def __init__(self, path: str | None = None):
        self.path = path or mutes_path()
        self.rules: dict[str, dict] = {}
        self.findings: dict[str, dict] = {}
        self.error: str | None = None
        self.load()

    def load(self) -> None:
        try:
            with open(self.path) as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            self.error = f"{self.path}: {e}"
            return
        if isinstance(data, dict):
            self.rules = {k: v for k, v in (data.get("rules") or {}).items() if _ok(v)}
            self.findings = {k: v for k, v in (data.get("findings") or {}).items() if _ok(v)}

    def save(self) -> None:
        from actions.files import write_private  # the one private-file writer (0600)

        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        text = json.dumps(
            {"rules": self.rules, "findings": self.findings}, indent=1, sort_keys=True
        )
        write_private(self.path, text + "\n")

    # ------------------------------------------------------------------ changes
    def set(self, key: str, state: str | None) -> None:
        """``state`` muted|acked, or None to clear. ``key``: a rule or ``rule:objects``."""
        if state is not None and state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        table = self.findings if ":" in key else self.rules
        if state is None:
            table.pop(key, None)
        else:
            table[key] = {"state": state, "at": int(time.time())}

    # ------------------------------------------------------------------ queries
    def rule_state(self, rule: str) -> str | None:
        v = self.rules.get(rule)
        return v["state"] if v else None

    def finding_state(self, f) -> str | None:
        """The finding's own state, else its rule's."""
        from inspectors.doctor.findings import finding_key

        v = self.findings.get(finding_key(f))
        return v["state"] if v else self.rule_state(f.rule)


def _ok(v) -> bool:
    return isinstance(v, dict) and v.get("state") in STATES
