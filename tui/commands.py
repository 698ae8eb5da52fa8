"""The ``ctrl+p`` palette: go to a pane, refresh, the network and daemon actions,
logs, doctor, and themes. Commands that do not apply (read-only mode, a
feature not installed) are listed with the reason instead of hidden."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING
from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:  # pragma: no cover
    from tui.app import DockscopeApp


class DockscopeCommands(Provider):
    """Context-aware commands of the console."""

    def entries(self) -> list[tuple[str, Callable[[], object], str]]:
        app: DockscopeApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, Callable[[], object], str]] = []
        for num, (pane_id, title) in enumerate(app.PANES, start=1):
            out.append(
                (
                    f"Go to {title} ({num})",
                    partial(app.action_pane, pane_id),
                    f"switch to pane {num}",
                )
            )
        out += [
            (
                "Refresh: full rebuild (r)",
                app.action_refresh,
                "re-read the engine, the kernel, sandboxes and sockets",
            ),
            ("Help: keys of this pane (?)", app.action_help, "every binding that applies here"),
            (
                "Ports: toggle all host listeners (a)",
                app.action_ports_all,
                "published ports <-> every listening socket of the host",
            ),
            (
                "Logs: selected container (l)",
                app.action_logs,
                "follow the log of the container under the cursor",
            ),
            ("Logs: daemon log (dockerd)", app.action_daemon_logs, "follow dockerd's own log"),
        ]
        ro = " (read-only mode: disabled)" if app.read_only else ""
        out += [
            (
                "Network: new... (n)",
                app.action_new_network,
                "create a network with subnet checks" + ro,
            ),
            (
                "Network: connect a container... (c)",
                app.action_connect,
                "connect the selected container/network" + ro,
            ),
            (
                "Network: disconnect (d)",
                app.action_disconnect,
                "disconnect the selected container from the selected network" + ro,
            ),
            ("Network: remove (x)", app.action_remove_network, "remove the selected network" + ro),
            (
                "Daemon: debug on/off (D)",
                app.action_daemon_debug,
                "toggle dockerd debug logging by reload" + ro,
            ),
            (
                "Undo the last action (u)",
                app.action_undo,
                "reconnect / recreate what the last action changed" + ro,
            ),
            (
                "Doctor: why can't A reach B?",
                app.action_path,
                "explain the path between two containers (reach, path, ping, connect)",
            ),
            (
                "Doctor: findings (7)",
                partial(app.action_pane, "findings"),
                "what looks wrong on this host",
            ),
        ]
        for name in sorted(app.available_themes):
            out.append(
                (
                    f"Theme: {name}",
                    partial(app.set_theme, name),
                    "switch the colour theme" + (" (current)" if name == app.theme else ""),
                )
            )
        return out

    async def discover(self) -> Hits:
        for title, cb, help_text in self.entries():
            if title.startswith("Theme: "):
                continue
            yield DiscoveryHit(title, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        app: DockscopeApp = self.app  # type: ignore[assignment]
        snap = getattr(app, "snapshot", None)
        names = [c.name for c in snap.containers if c.name] if snap is not None else []
        src, dst, port, rest = path_prefill(query, names)
        matcher = self.matcher(query)
        for title, cb, help_text in self.entries():
            if cb == app.action_path and (src or dst):
                from tui.doctor_views import open_path

                # "why can't web reach db on 8080": the form opens filled in
                cb = partial(open_path, app, src, dst, port)
                words = rest
            else:
                words = query
            score = max(matcher.match(title), word_score(words, f"{title} {help_text}"))
            if score > 0:
                yield Hit(score, matcher.highlight(title), cb, help=help_text)


_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")


def path_prefill(query: str, names: list[str]) -> tuple[str | None, str | None, int | None, str]:
    """A, B and the port named in a palette question: the first two words that
    are container names of the snapshot, and a number (1-65535) after them;
    plus the question without those words (for scoring)."""
    by_lower = {n.lower(): n for n in names}
    found: list[str] = []
    port: int | None = None
    rest: list[str] = []
    for tok in _TOKEN.findall(query):
        name = by_lower.get(tok.lower())
        if name is not None and len(found) < 2 and name not in found:
            found.append(name)
        elif tok.isdigit() and found and 0 < int(tok) < 65536 and port is None:
            port = int(tok)
        elif tok.lower() not in ("on", "port"):
            rest.append(tok)
    src = found[0] if found else None
    dst = found[1] if len(found) > 1 else None
    return src, dst, port, " ".join(rest)


_WORD = re.compile(r"[a-z0-9]+")
_FILLER = {"a", "an", "the", "to", "of", "is", "my", "can", "t", "cant", "does", "not", "i"}
# words people type for what a command is called
_SYNONYMS = {
    "cannot": "reach",
    "ping": "reach",
    "connectivity": "reach",
    "talk": "reach",
    "route": "path",
    "debugging": "debug",
    "delete": "remove",
    "rm": "remove",
    "create": "new",
    "add": "new",
    "attach": "connect",
    "detach": "disconnect",
    "problems": "findings",
    "issues": "findings",
    "log": "logs",
    "dockerd": "daemon",
}


def word_score(query: str, text: str) -> float:
    """How many of the query's words start a word of ``text`` (0..1): "why
    can't web reach db" finds "Doctor: why can't A reach B?" (web and db are
    names, not words of the title; two of three content words match)."""
    words = [_SYNONYMS.get(w, w) for w in _WORD.findall(query.lower())]
    words = [w for w in words if w not in _FILLER]
    if not words:
        return 0.0
    have = _WORD.findall(text.lower())
    hits = sum(1 for w in words if any(h.startswith(w) for h in have))
    ratio = hits / len(words)
    return ratio * 0.9 if hits and ratio >= 0.4 else 0.0
