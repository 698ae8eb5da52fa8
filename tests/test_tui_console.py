"""Console navigation (issue 10) and layout (issue 14 items 5 and 12) with Pilot.

The app is the real one (tests/fixed_app.py only swaps the live model for a
fixed snapshot: no engine is needed to test what the keys do to the tables).
The engine-backed behaviour (live updates, read-only keys, the log pane) is in
tests/test_tui.py and tests/test_logview.py.
"""

from __future__ import annotations

import copy
import os
import stat
import subprocess
import sys
from pathlib import Path

from inspectors.config import Settings
from inspectors.model import Engine
from tests.fixed_app import FixedApp
from tests.test_tui_snapshots import MACS, demo_findings, demo_snapshot
from tui.commands import word_score
from tui.live import EngineBack, EngineLost, LiveUpdate
from tui.panes.common import MAX_CELL, DataView, natural_key, normalize_needle

ROOT = Path(__file__).resolve().parent.parent
SIZE = (120, 40)


def app_for(snap=None, **kw) -> FixedApp:
    return FixedApp(snap or demo_snapshot(), settings=Settings(), findings=demo_findings(), **kw)


def table(app, pane: str, view: str = "list") -> DataView:
    return app.query_one(f"#{pane} #{view}", DataView)


def shown_keys(t: DataView) -> list[str]:
    return [rk.value for rk in t.rows]


def ordered_keys(t: DataView) -> list[str]:
    return [t.coordinate_to_cell_key((i, 0)).row_key.value for i in range(t.row_count)]


async def test_filter_belongs_to_the_table_it_was_typed_in():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", "b", "a", "c", "k", "enter")
        await pilot.pause()
        lst = table(app, "networks")
        assert lst.filter_text == "back" and lst.shown == 1
        await pilot.press("enter")  # drill into "backend"
        await pilot.pause()
        pane = app.query_one("#networks")
        assert pane.view_name == "detail"
        eps = table(app, "networks", "net-endpoints")
        assert eps.filter_text == "" and eps.shown == eps.total == 2  # db and web, not hidden
        assert "filter:" not in str(pane.query_one("#pane-title").render())
        await pilot.press("escape")  # back: the list keeps its own filter
        await pilot.pause()
        assert pane.view_name == "list" and lst.filter_text == "back" and lst.shown == 1
        await pilot.press("escape")  # and esc clears it
        await pilot.pause()
        assert lst.filter_text == "" and lst.shown == lst.total


def test_natural_order_and_pasted_names():
    names = ["lab-c10", "lab-c2", "Lab-c1", "lab-c3", "-", ""]
    assert sorted(names, key=natural_key) == ["Lab-c1", "lab-c2", "lab-c3", "lab-c10", "-", ""]
    assert normalize_needle("veth87e888a@if530") == "veth87e888a"
    assert normalize_needle(" 'web' ") == "web"
    assert normalize_needle("02-42-AC-15-00-02") == "02:42:ac:15:00:02"


async def test_sort_by_any_column_naturally_and_reverse():
    snap = demo_snapshot()
    for i in (10, 2, 1):
        n = copy.deepcopy(snap.networks[0])
        n.id, n.name, n.endpoints = f"{i:012d}" * 2, f"lab-c{i}", []
        snap.networks.append(n)
    app = app_for(snap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        t = table(app, "networks")
        names = [app.snapshot.network(k).name for k in ordered_keys(t)]
        labs = [n for n in names if n.startswith("lab-")]
        assert labs == ["lab-c1", "lab-c2", "lab-c10"]  # the pane's own order is natural
        await pilot.press("s")  # sort by column 0 (NAME)
        await pilot.pause()
        assert t.sort_column == 0
        names = [app.snapshot.network(k).name for k in ordered_keys(t)]
        assert names == sorted(names, key=natural_key)
        await pilot.press("S")  # reversed
        await pilot.pause()
        names = [app.snapshot.network(k).name for k in ordered_keys(t)]
        assert names == sorted(names, key=natural_key, reverse=True)
        await pilot.press("s")  # the next column (DRIVER)
        await pilot.pause()
        assert t.sort_column == 1 and "sorted by DRIVER" in str(
            app.query_one("#networks #pane-title").render()
        )
        drivers = [t.get_row(k)[1].plain for k in ordered_keys(t)]
        assert drivers == sorted(drivers, key=natural_key)


async def test_copy_the_value_under_the_cursor():
    app = app_for()
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # the OSC 52 write itself is Textual's
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        t = table(app, "networks")
        name = app.snapshot.network(t.current_key()).name
        await pilot.press("y")
        await pilot.pause()
        assert copied == [name]


async def test_pasted_interface_names_and_macs_match():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        bridges = app.query_one("#bridges")
        bridges.set_filter("veth3d4e5f6@if530")  # as `ip link` prints it
        await pilot.pause()
        assert table(app, "bridges").shown >= 1
        await pilot.press("3")
        await pilot.pause()
        eps = app.query_one("#endpoints")
        eps.set_filter(MACS["db0"].upper().replace(":", "-"))
        await pilot.pause()
        shown = [app.snapshot.container(k).name for k in shown_keys(table(app, "endpoints"))]
        assert shown == ["db"]


async def test_a_300_character_name_does_not_push_other_columns_off():
    snap = demo_snapshot()
    snap.networks[0].name = "n" + "x" * 299
    app = app_for(snap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        t = table(app, "networks")
        widths = [c.get_render_width(t) for c in t.columns.values()]
        assert widths[0] <= min(MAX_CELL, SIZE[0] // 4) + 2
        assert sum(widths[:-1]) < SIZE[0] - 5  # the ID column (last) is on screen
        svg = app.export_screenshot()
        assert snap.networks[1].id[:5] in svg


async def test_header_recovers_its_width_after_a_narrow_window():
    snap = demo_snapshot()
    host = "unix:///run/user/1000/some/rather/long/path/to/the/docker.sock"
    snap.engine.host = host
    app = app_for(snap)
    async with app.run_test(size=(60, 24)) as pilot:
        await pilot.pause()
        assert host.removeprefix("unix://") not in str(app.query_one("#status").render())
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        await pilot.pause()
        assert host.removeprefix("unix://") in str(app.query_one("#status").render())


async def test_failed_rebuild_keeps_the_last_state_marked_stale_then_recovers():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        t = table(app, "networks")
        before = t.total
        broken = copy.deepcopy(app.snapshot)
        broken.networks, broken.containers = [], []
        broken.engine = Engine(host=broken.engine.host, reachable=False, error="timed out")
        app.post_message(LiveUpdate(broken, reason="rebuild"))
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert t.total == before  # never "0 nets" from a failed rebuild
        assert "STALE" in status and f"{before} nets" in status
        assert "STALE" in str(app.query_one("#networks #pane-title").render())
        app.post_message(EngineLost("timed out", "unreachable", 1, 1.0))
        await pilot.pause()
        assert "ENGINE DOWN" in str(app.query_one("#status").render()) and t.total == before
        app.post_message(EngineBack(3.0))
        await pilot.pause()
        app.post_message(LiveUpdate(demo_snapshot(), reason="rebuild"))
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "STALE" not in status and "ENGINE DOWN" not in status


async def test_d_on_a_network_row_offers_its_containers():
    from tui.help import PickScreen

    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        t = table(app, "networks")
        backend = next(n for n in app.snapshot.networks if n.name == "backend")
        assert t.select_key(backend.id)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        assert app.screen.choices == ["db", "web"]
        assert app.screen.query("Footer")  # the dialog shows its own keys
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PickScreen)


async def test_every_key_has_a_description_and_help_lists_it():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for pane in ("1", "2", "3", "4", "5", "6", "7"):
            await pilot.press(pane)
            await pilot.pause()
            for ab in app.screen.active_bindings.values():
                assert ab.binding.description, (pane, ab.binding.key)
        await pilot.press("1", "question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-body").render())
        for want in ("Filter", "Back", "Sort by next column", "Copy cell", "Help"):
            assert want in text


def test_palette_matches_the_words_people_type():
    title = "Doctor: why can't A reach B? explain the path between two containers"
    assert word_score("why can't web reach db", title) > 0
    assert word_score("why", title) > 0
    assert word_score("debug", title) == 0
    assert word_score("turn debug on", "Daemon: debug on/off (D)") > 0


async def test_palette_finds_the_path_explainer_from_a_question():
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in "why can't web reach db":
            await pilot.press("space" if ch == " " else ("apostrophe" if ch == "'" else ch))
        await pilot.pause(0.5)
        from textual.command import CommandList

        options = app.screen.query_one(CommandList)
        assert options.option_count >= 1
        first = str(options.get_option_at_index(0).prompt)
        assert "why can't A reach B" in first


async def test_theme_choice_is_saved_under_xdg_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.set_theme("nord")
    path = tmp_path / "dockscope" / "ui.json"
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    app2 = app_for()
    async with app2.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app2.theme == "nord"


def test_version_flag():
    r = subprocess.run(
        [sys.executable, "-m", "tui", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert r.returncode == 0 and r.stdout.startswith("dockscope ")


async def test_findings_grouped_by_rule_filtered_and_muted(tmp_path, monkeypatch):
    from textual.widgets import DataTable

    from tests.test_doctor_views import F, cell_texts

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("DOCKSCOPE_CONFIG", raising=False)
    findings = [
        F("info", "no_listener", [f"c{i}"], f"c{i} publishes 80 unheard") for i in (1, 2, 10)
    ]
    findings.append(F("error", "port_conflict", ["worker"], "worker cannot bind 5000"))
    app = FixedApp(demo_snapshot(), settings=Settings(), findings=findings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        await pilot.pause()
        pane = app.query_one("#findings")
        table = pane.query_one(DataTable)
        rows = cell_texts(table)
        # errors first; the three alike are one row with a count, closed
        assert [r[0] for r in rows] == ["error", "info"]
        assert "no_listener ×3" in rows[1][1]
        await pilot.press("down", "enter")  # open the group
        await pilot.pause()
        rows = cell_texts(table)
        assert [r[2] for r in rows[2:]] == ["c1", "c2", "c10"]
        # / filters by rule, object or message
        await pilot.press("slash", "c", "1", "0", "enter")
        await pilot.pause()
        assert [r[2] for r in cell_texts(table)] == ["c10"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(cell_texts(table)) == 5
        # m on the group mutes the rule: hidden, and kept under the XDG config dir
        table.move_cursor(row=1)
        await pilot.press("m")
        await pilot.pause()
        assert [r[0] for r in cell_texts(table)] == ["error"]
        saved = (tmp_path / "dockscope" / "mutes.json").read_text()
        assert '"no_listener"' in saved and '"muted"' in saved
        await pilot.press("h")  # show muted
        await pilot.pause()
        assert any("[muted]" in r[3] for r in cell_texts(table))


def test_start_up_heap_frozen_once_at_the_first_frame_and_collected_when_settled():
    """tui/cli.py starts the console with the cyclic collector off; the first frame
    freezes what is alive (the collection it would run took ~70 ms before the next
    frame) and turns it on, once although it runs after every update; the settled
    heap unfreezes, collects and freezes again (nothing frozen stays garbage)."""
    import gc

    app = app_for()
    was = gc.isenabled()
    gc.unfreeze()
    gc.disable()
    try:
        app._first_painted()
        frozen = gc.get_freeze_count()
        assert gc.isenabled() and frozen > 0
        import weakref

        class Node:
            pass

        cycle = Node()
        cycle.me = cycle
        gone = weakref.ref(cycle)
        app._first_painted()
        assert gc.get_freeze_count() == frozen  # not a second time
        gc.freeze()  # as if a later freeze had caught the cycle
        del cycle
        app.all_mounted = True
        app._settle_heap()  # unfreezes before it collects
        assert gone() is None
    finally:
        gc.unfreeze()
        if was:
            gc.enable()


def test_trim_heap_hands_freed_c_heap_pages_back():
    """tui.live.trim_heap (glibc malloc_trim): memory freed by another thread stays
    in that thread's malloc arena, counted in the RSS, until trimmed. 60 MB of
    1 KB buffers (glibc malloc, not Python's small-object allocator), every tenth
    kept alive so that no arena can shrink from its top by itself."""
    import threading

    import psutil

    from tui import live

    if live._TRIM is None:
        import pytest

        pytest.skip("not glibc: no malloc_trim (the console then runs without it)")
    kept: list = []

    def churn() -> None:
        bufs = [bytearray(1024) for _ in range(60_000)]
        kept.extend(bufs[::10])
        del bufs

    t = threading.Thread(target=churn)
    t.start()
    t.join()
    rss = lambda: psutil.Process().memory_info().rss  # noqa: E731
    before = rss()
    assert live.trim_heap()
    assert before - rss() > 8 * 2**20, (before, rss())  # 17-30 MB here; 0 untrimmed
