"""``?``: every key binding that applies where the user is (focused widget,
its pane, the app), built from the live binding chain so it never goes stale."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

Section = tuple[str, list[tuple[str, str, bool]]]  # title, [(keys, description, enabled)]


def collect_bindings(app: App) -> list[Section]:
    """Group the screen's active bindings by the widget that owns them."""
    from tui.panes.common import DataView, FilterInput
    from tui.panes.protocol import PaneProtocol

    groups: dict[str, dict[str, tuple[list[str], str, bool]]] = {}
    order: list[str] = []
    for key, ab in app.screen.active_bindings.items():
        node, binding = ab.node, ab.binding
        if isinstance(node, App):
            title = "Everywhere"
        elif isinstance(node, PaneProtocol):
            title = f"{node.TITLE} pane"
        elif isinstance(node, DataView):
            title = "Tables"
        elif isinstance(node, FilterInput):
            title = "Filter line"
        else:
            title = type(node).__name__
        if not binding.description:
            continue
        if title not in groups:
            groups[title] = {}
            order.append(title)
        g = groups[title]
        label = binding.action
        display = app.get_key_display(Binding(key, binding.action, binding.description))
        if label in g:
            g[label][0].append(display)
        else:
            g[label] = ([display], binding.description, ab.enabled)
    # the pane's own keys first, then the global ones, then the generic ones
    rank = {"Everywhere": 1, "Filter line": 2, "Tables": 3, "Screen": 4}
    order.sort(key=lambda t: rank.get(t, 0))
    out: list[Section] = []
    for title in order:
        rows = [(", ".join(keys), desc, enabled) for keys, desc, enabled in groups[title].values()]
        out.append((title, rows))
    return out


def render_sections(sections: list[Section], pane_help: str = "") -> Text:
    out = Text()
    if pane_help:
        out.append(pane_help + "\n", style="italic")
    for title, rows in sections:
        out.append("\n")
        out.append(title, style="bold underline")
        out.append("\n")
        width = max((len(k) for k, _, _ in rows), default=4)
        for keys, desc, enabled in rows:
            out.append(f"  {keys:<{width}}  ", style="bold" if enabled else "dim")
            out.append(desc, style="" if enabled else "dim")
            if not enabled:
                out.append("  (not available here)", style="dim")
            out.append("\n")
    out.append(
        "\nMouse: click a tab to switch pane, click a row to select, click it again to "
        "open it. Untrusted text (names, labels, logs) is always shown literally.\n",
        style="dim",
    )
    return out


class HelpScreen(ModalScreen[None]):
    """Key bindings of the focused pane and of the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_help", "Close help", id="help.close"),
        Binding("question_mark", "dismiss_help", "Close help", show=False, id="help.close2"),
        Binding("q", "dismiss_help", "Close help", show=False, id="help.close3"),
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="help.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="help.up"),
    ]

    def __init__(self, sections: list[Section], title: str = "Keys", pane_help: str = "") -> None:
        super().__init__()
        self.sections = sections
        self.help_title = title
        self.pane_help = pane_help

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text(f" {self.help_title} ", style="bold reverse"), id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(render_sections(self.sections, self.pane_help), id="help-body")
            yield Static(Text("esc / ? / q close", style="dim"), id="help-foot")

    def on_mount(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).focus()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

    def action_scroll_down(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).scroll_up()


class PickScreen(ModalScreen[str | None]):
    """Choose one of ``choices`` (enter), or nothing (esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel"),
    ]
    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical { width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1; }
    PickScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, title: str, choices: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text + "  (enter: choose, esc: cancel)", style="bold"))
            yield OptionList(*[Text(c) for c in self.choices], id="pick-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
