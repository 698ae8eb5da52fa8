"""The map: one folding tree of nodes, networks and bridges, containers, and the
overlays spanning nodes; down links, stale nodes and findings marked; the last
``path`` query highlighted. Data: :mod:`inspectors.topology` (UI-free).

Readable at 80x24: every branch folds (``enter``/``space`` toggles, ``-``
folds all but the top, ``+`` unfolds all), the tree scrolls, long labels are
cut with an ellipsis. Used as a screen in the console (one host, from the live
model) and as the console of several hosts (``dockscope -H .. -H ..``).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from inspectors.text import clean
from inspectors.topology import (
    MARK_DOWN,
    MARK_FINDING,
    MARK_PATH,
    MARK_STALE,
    TopoItem,
)

STYLE = {
    MARK_STALE: "dim italic",
    MARK_DOWN: "bold red",
    MARK_FINDING: "red",
    MARK_PATH: "bold reverse",
}
SIGIL = {MARK_STALE: " STALE", MARK_DOWN: " DOWN", MARK_FINDING: " !", MARK_PATH: " *"}
KIND = {
    "node": "node ",
    "network": "net ",
    "bridge": "br ",
    "container": "",
    "remote": "remote ",
    "overlay": "",
    "path": "",
    "hop": "",
    "cluster": "",
    "service": "svc ",
    "task": "",
}


def label_for(item: TopoItem) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(KIND.get(item.kind, ""), style="dim")
    style = " ".join(STYLE[m] for m in dict.fromkeys(item.marks) if m in STYLE)
    t.append(clean(item.label), style=style)
    for m in dict.fromkeys(item.marks):
        if m in (MARK_STALE, MARK_DOWN, MARK_FINDING):
            t.append(SIGIL[m], style=STYLE[m])
    return t


class MapTree(Tree):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("minus", "fold_all", "Fold all", id="map.fold"),
        Binding("plus", "unfold_all", "Unfold all", id="map.unfold"),
    ]

    def show(self, root: TopoItem, expand_depth: int = 1) -> None:
        self.clear()
        self.root.set_label(label_for(root))
        self.root.data = root

        def add(node, item: TopoItem, depth: int) -> None:
            for c in item.children:
                # folded past expand_depth, but always open down to a marked object
                marked = any(m for i in c.walk() for m in i.marks if m != MARK_STALE)
                if c.children:
                    child = node.add(label_for(c), data=c, expand=depth < expand_depth or marked)
                    add(child, c, depth + 1)
                else:
                    node.add_leaf(label_for(c), data=c)

        add(self.root, root, 0)
        self.root.expand()

    def action_fold_all(self) -> None:
        for n in self.root.children:
            n.collapse_all()

    def action_unfold_all(self) -> None:
        self.root.expand_all()


class MapScreen(Screen):
    """The map as a screen (``esc`` goes back; ``l`` on a service: its logs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="map.back"),
        Binding("l", "service_logs", "Service logs", id="map.logs"),
    ]

    def action_service_logs(self) -> None:
        node = self.query_one(MapTree).cursor_node
        item = node.data if node is not None else None
        if isinstance(item, TopoItem) and item.kind == "task":
            item = next(
                (s for s in self.topo.walk() if s.kind == "service" and item in s.children), None
            )
        opener = getattr(self.app, "open_service_logs", None)
        if not isinstance(item, TopoItem) or item.kind != "service" or opener is None:
            self.notify(
                "put the cursor on a service (several hosts: the services branch)", markup=False
            )
            return
        opener(item.key)

    DEFAULT_CSS = """
    MapScreen #map-title { height: 1; background: $panel; }
    MapScreen MapTree { height: 1fr; }
    MapScreen #map-notes { height: auto; max-height: 4; color: $text-muted; }
    """

    def __init__(self, root: TopoItem, title: str = "map"):
        super().__init__()
        self.topo = root
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield Static(Text(clean(self.title_text), no_wrap=True), id="map-title")
        yield MapTree("map", id="map-tree")
        yield Static(id="map-notes")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(MapTree)
        tree.show(self.topo)
        tree.focus()

    def update_topology(self, root: TopoItem) -> None:
        self.topo = root
        self.query_one(MapTree).show(root)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        item = event.node.data
        notes = self.query_one("#map-notes", Static)
        if isinstance(item, TopoItem) and item.notes:
            notes.update(Text("\n".join(clean(n) for n in item.notes[:4]), overflow="ellipsis"))
        else:
            notes.update("")


def open_map_screen(app) -> None:
    """From the console: the map of the live model (one host)."""
    from inspectors.topology import build_single, load_last_path

    if getattr(app, "snapshot", None) is None:
        app.notify("no model yet", markup=False)
        return
    pane = app.pane("findings") if hasattr(app, "pane") else None
    findings = list(getattr(pane, "findings", None) or [])
    cluster = getattr(getattr(app, "model", None), "cluster", None)
    if cluster is not None:  # the console of several engines (tui/cluster_console.py)
        from inspectors.topology import build_cluster_map

        last = load_last_path([n.host for n in cluster.nodes])
        app.push_screen(
            MapScreen(
                build_cluster_map(cluster, findings, last), f"map: {len(cluster.nodes)} nodes"
            )
        )
        return
    app.push_screen(
        MapScreen(
            build_single(app.snapshot, findings, load_last_path(app.snapshot.engine.host)),
            "map: this host",
        )
    )


class ServiceLogScreen(Screen):
    """`docker service logs -f` in the console: the tasks merged, task@node | line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="slog.back")
    ]
    DEFAULT_CSS = """
    ServiceLogScreen #slog-title { height: 1; background: $panel; }
    ServiceLogScreen Log { height: 1fr; }
    """

    def __init__(self, service: str, lines_fn):
        super().__init__()
        self.service, self.lines_fn = service, lines_fn
        self.stopping = False

    def compose(self) -> ComposeResult:
        from textual.widgets import Log

        yield Static(
            Text(f"service {clean(self.service)}: logs of every task (follow)", no_wrap=True),
            id="slog-title",
        )
        yield Log(max_lines=5000, id="slog")
        yield Footer()

    def on_mount(self) -> None:
        from textual.widgets import Log

        # the thread gets the app and the widget now: after the screen is gone
        # neither may be looked up from the thread
        log = self.query_one("#slog", Log)
        self.run_worker(
            lambda: self._follow(self.app, log), thread=True, exclusive=True, group="slog"
        )

    def on_unmount(self) -> None:
        self.stopping = True

    def _follow(self, app, log) -> None:
        def put(text: str) -> bool:
            if self.stopping:
                return False
            try:
                # write(), not write_line(): write_line measures in a thread worker of
                # its own that fails (and ends the app) when the screen went meanwhile
                app.call_from_thread(log.write, text + "\n")
            except Exception:  # noqa: BLE001 - the app or the screen went away
                self.stopping = True
                return False
            return True

        try:
            for ln in self.lines_fn(self.service):
                if not put(f"{clean(ln.source)} | {clean(ln.text)}"):
                    return
        except Exception as e:  # noqa: BLE001 - say why in the pane
            put(f"-- {clean(str(e))}")


class MapApp(App):
    """A console of its own for a map (several hosts: `dockscope -H .. -H ..`).

    ``rebuild`` (optional) reads everything again and returns ``(topology,
    title)``; it runs in a thread worker on ``r`` and every ``every`` seconds.
    Nodes that stop answering stay on the map, marked stale (the builder keeps
    the previous snapshot for that)."""

    TITLE = "dockscope map"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="mapapp.quit"),
        Binding("r", "rebuild", "Rebuild", id="mapapp.rebuild"),
    ]

    def __init__(
        self, root: TopoItem, title: str, rebuild=None, every: float = 0.0, service_lines=None
    ):
        super().__init__()
        self.topo, self.map_title = root, title
        self.rebuild_fn, self.every = rebuild, every
        self.service_lines = service_lines  # service name -> iterator of ServiceLogLine
        self.building = False

    def open_service_logs(self, service: str) -> None:
        if self.service_lines is None:
            self.notify("no swarm manager in view", markup=False)
            return
        self.push_screen(ServiceLogScreen(service, self.service_lines))

    def on_mount(self) -> None:
        self.push_screen(MapScreen(self.topo, self.map_title))
        if self.rebuild_fn and self.every:
            self.set_interval(self.every, self.action_rebuild)

    def action_rebuild(self) -> None:
        if self.rebuild_fn is None or self.building:
            return
        self.building = True
        self.run_worker(self._rebuild, thread=True, exclusive=True, group="map")

    def _rebuild(self) -> None:
        try:
            root, title = self.rebuild_fn()
        except Exception as e:  # noqa: BLE001 - keep the last map, say why
            self.call_from_thread(self.notify, clean(str(e)), severity="warning", markup=False)
        else:
            self.call_from_thread(self._show, root, title)
        finally:
            self.building = False

    def _show(self, root: TopoItem, title: str) -> None:
        self.topo, self.map_title = root, title
        if isinstance(self.screen, MapScreen):
            self.screen.update_topology(root)
            self.screen.query_one("#map-title", Static).update(Text(clean(title), no_wrap=True))
