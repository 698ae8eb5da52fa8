"""The ``ctrl+p`` palette: go to a pane, refresh, the network and daemon actions,
logs, doctor, and themes. Commands that do not apply (read-only mode, a
feature not installed) are listed with the reason instead of hidden."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING
from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:  # pragma: no cover
    from tui.app import DockscopeApp


class DockscopeCommands(Provider):
    """Context-aware commands of the console."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
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
                "explain the path between two endpoints",
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
        for title, cb, help_text in self._commands():
            if title.startswith("Theme: "):
                continue
            yield DiscoveryHit(title, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, cb, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), cb, help=help_text)
