"""LogPane (tui/panes/logs.py) in a tiny app, fed by the real test engine.

The pane reads through its real sources (inspectors/logs.py) from the
harness dockerd; nothing is mocked. "Rendered text" below is what the
line-API widget hands Textual for each screen row.
"""

from __future__ import annotations

import threading
import time

import pytest
from textual.app import App, ComposeResult
from textual.worker import WorkerState

from inspectors.config import Settings
from inspectors.logs import LogLine
from inspectors.text import MAX_LINE_CHARS
from tui.panes.logmodel import S_MATCH_CURRENT
from tui.panes.logs import LogPane
from tui.panes.logview import LogView, SaveLogScreen

INJECT = r"printf '\033]0;pwned\007\033[31mred [bold]x[/bold] [link=http://x]y[/link]\n'"
SIZE = (100, 30)


class PaneApp(App):
    def __init__(self, daemon, **settings):
        super().__init__()
        s = Settings(
            log_tail=settings.pop("log_tail", 500),
            log_buffer_lines=settings.pop("log_buffer_lines", 50_000),
        )
        self.pane = LogPane(s, host=daemon.host, client_factory=daemon.client)

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        self.pane.focus_main()


def run_ctr(daemon, image, name, script, *extra, wait=True):
    daemon.docker("run", "-d", "--name", name, *extra, image, "sh", "-c", script)
    if wait:
        daemon.docker("wait", name, timeout=60)
    return name


async def wait_until(pilot, pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        await pilot.pause(0.05)
    pytest.fail(f"timed out waiting for {what}")


def rows(view: LogView) -> list[str]:
    """The rendered text of every screen row of the log view."""
    return [
        "".join(seg.text for seg in view.render_line(y)).rstrip()
        for y in range(view.scrollable_content_region.height)
    ]


def texts(pane: LogPane) -> list[str]:
    return [ln.text for ln in pane.model.visible_lines()]


def workers_running(app) -> list:
    return [
        w
        for w in app.workers
        if w.group == "logpane-io" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
    ]


NEEDLES = (
    "for i in $(seq 1 200); do if [ $((i % 50)) = 0 ]; then echo needle $i; "
    "else echo line $i; fi; done"
)


async def test_search_n_and_N_move_between_highlighted_matches(daemon, image, uniq):
    name = run_ctr(daemon, image, f"lv-search-{uniq}", NEEDLES)
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([name])
        await wait_until(pilot, lambda: pane.state == "ended", what="the whole log")
        assert len(pane.model.buffer) == 201  # 200 lines + "container exited"
        await pilot.press("g")  # top
        await pilot.press("slash", *"needle", "enter")
        assert pane.model.match_count() == 4

        def current() -> str:
            return pane.model.buffer.get(view.current_seq).text

        assert current() == "needle 50"
        assert "search 'needle' 1/4" in pane.status_text().plain
        # the current match is on screen and highlighted as the current one
        y = rows(view).index("  needle 50")
        segs = list(view.render_line(y))
        assert any(s.text == "needle" and s.style.bgcolor == S_MATCH_CURRENT.bgcolor for s in segs)
        await pilot.press("n")
        assert current() == "needle 100"
        assert "  needle 100" in rows(view)
        await pilot.press("n", "n")
        assert current() == "needle 200" and "4/4" in pane.status_text().plain
        await pilot.press("n")  # wraps around
        assert current() == "needle 50"
        await pilot.press("N")
        assert current() == "needle 200"
        await pilot.press("N")
        assert current() == "needle 150" and "3/4" in pane.status_text().plain
        assert "  needle 150" in rows(view)


async def test_filter_shows_only_matches_and_keeps_context(daemon, image, uniq):
    name = run_ctr(daemon, image, f"lv-filter-{uniq}", NEEDLES)
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([name])
        await wait_until(pilot, lambda: pane.state == "ended", what="the whole log")
        await pilot.press("ampersand", *"needle", "enter")
        assert texts(pane) == ["needle 50", "needle 100", "needle 150", "needle 200"]
        shown = [r.strip() for r in rows(view) if r.strip()]
        assert shown == ["needle 50", "needle 100", "needle 150", "needle 200"]
        assert "4 shown" in pane.status_text().plain
        await pilot.press("plus")  # one context line each side, grep-style "--" between groups
        assert texts(pane) == [
            "line 49",
            "needle 50",
            "line 51",
            "line 99",
            "needle 100",
            "line 101",
            "line 149",
            "needle 150",
            "line 151",
            "line 199",
            "needle 200",
            "container exited (exit code 0)",
        ]
        shown = [r.strip() for r in rows(view) if r.strip()]
        assert shown[:4] == ["line 49", "needle 50", "line 51", "--"]
        assert "+1 ctx" in pane.status_text().plain
        await pilot.press("minus")
        assert len(texts(pane)) == 4
        # `f` is the same filter; esc in the input closes it and restores
        await pilot.press("f", "backspace", "backspace", "escape")
        assert len(texts(pane)) == 4 and not app.query_one("#log-prompt").has_class("-open")
        await pilot.press("escape")  # clears the filter
        assert len(texts(pane)) == 201


async def test_follow_pauses_on_scroll_up_and_counts_new_lines(daemon, image, uniq):
    name = run_ctr(
        daemon,
        image,
        f"lv-follow-{uniq}",
        "seq 1 100; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done",
        wait=False,
    )
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([name])
        await wait_until(pilot, lambda: len(pane.model.buffer) > 110, what="lines")
        assert view.following and view.scroll_y == view.max_scroll_y
        await wait_until(
            pilot,
            lambda: rows(view)[-1].strip().startswith("tick"),
            what="the newest line at the bottom",
        )
        await pilot.press("pageup")
        await pilot.pause(0.1)
        assert not view.following
        top = rows(view)[0]
        await wait_until(pilot, lambda: view.new_lines >= 5, what="new lines while paused")
        assert rows(view)[0] == top  # the view stays where the user put it
        status = pane.status_text().plain
        assert f"paused, {view.new_lines:,} new" in status
        await pilot.press("G")
        assert view.following and view.new_lines == 0
        n = len(pane.model.buffer)
        await wait_until(pilot, lambda: len(pane.model.buffer) > n + 2, what="more lines")
        await pilot.pause(0.1)
        assert view.scroll_y == view.max_scroll_y  # following again
        assert "following" in pane.status_text().plain
        await pilot.press("k")
        assert not view.following
        await pilot.press("end")
        assert view.following
    daemon.docker("rm", "-f", name)


async def test_save_writes_the_visible_filtered_lines(daemon, image, uniq, tmp_path):
    name = run_ctr(daemon, image, f"lv-save-{uniq}", NEEDLES)
    app = PaneApp(daemon)
    said: list[str] = []
    notify = app.notify
    app.notify = lambda message, **kw: (said.append(str(message)), notify(message, **kw))[1]
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.open_container([name])
        await wait_until(pilot, lambda: pane.state == "ended", what="the whole log")
        await pilot.press("ampersand", *"needle", "enter")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveLogScreen), what="save screen")
        inp = app.screen.query_one("#save-path")
        assert inp.value.startswith(f"./dockscope-lv-save-{uniq}-") and inp.value.endswith(".log")
        out = tmp_path / "saved.log"
        inp.value = str(out)
        await pilot.press("enter")
        await wait_until(pilot, lambda: out.exists(), what="the file")
        assert out.read_text().splitlines() == [
            "needle 50",
            "needle 100",
            "needle 150",
            "needle 200",
        ]
        assert any(str(out) in m for m in said)
        assert (out.stat().st_mode & 0o777) == 0o600
        # esc cancels: nothing written
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveLogScreen), what="save screen")
        await pilot.press("escape")
        assert not isinstance(app.screen, SaveLogScreen)


async def test_escape_and_markup_injection_rendered_inert(daemon, image, uniq):
    name = run_ctr(daemon, image, f"lv-inj-{uniq}", INJECT + "; echo plain")
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([name])
        await wait_until(pilot, lambda: pane.state == "ended", what="the log")
        screen = rows(view)
        assert "  red [bold]x[/bold] [link=http://x]y[/link]" in screen
        assert not any("\x1b" in r or "\x07" in r or "pwned" in r for r in screen)
        # and as Textual composes the screen (markup would have eaten the brackets)
        await pilot.pause()
        shot = app.export_screenshot()
        assert "[bold]x[/bold]" in shot and "[link=http://x]y[/link]" in shot
        # search highlighting splits the line, still no markup
        await pilot.press("slash", *"bold", "enter")
        assert "  red [bold]x[/bold] [link=http://x]y[/link]" in rows(view)


async def test_huge_line_and_binary_garbage_do_not_hang(daemon, image, uniq):
    name = run_ctr(
        daemon,
        image,
        f"lv-huge-{uniq}",
        "head -c 1000000 /dev/zero | tr '\\0' a; echo; "
        "head -c 100000 /dev/urandom; echo; echo done",
    )
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([name])
        await wait_until(pilot, lambda: pane.state == "ended", what="the log", timeout=30)
        assert any(t == "done" for t in texts(pane))
        big = pane.model.buffer[0]
        assert big.text.endswith(f"… [{1_000_000 - MAX_LINE_CHARS} bytes cut]")
        t0 = time.monotonic()
        await pilot.press("g")
        screen = rows(view)
        assert screen[0].startswith("  aaaa")
        assert len(screen[0]) == view.scrollable_content_region.width  # cropped to the view
        for r in screen:
            assert all(ch == "\t" or ord(ch) >= 0x20 for ch in r)
        await pilot.press("w")  # wrap: the capped line takes ~10k/width rows, no more
        screen = rows(view)
        assert screen[0].startswith("  aaaa") and screen[1].startswith("  aaaa")  # indented
        await pilot.press("G", "k", "g", "t", "w", "right", "end")
        assert time.monotonic() - t0 < 10


async def test_merged_view_has_a_name_column(daemon, image, uniq):
    a, b = f"lv-a-{uniq}", f"lv-bb-{uniq}"
    run_ctr(daemon, image, a, "echo from-a")
    run_ctr(daemon, image, b, "echo from-b >&2")
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([a, b])
        await wait_until(pilot, lambda: len(pane.model.buffer) >= 2, what="both lines")
        await pilot.pause(0.1)
        screen = [r.rstrip() for r in rows(view) if r.strip()]
        assert f"{a.ljust(len(b))} │   from-a" in screen
        assert f"{b} │ ▌ from-b" in screen  # stderr marked
        assert "2 containers merged" in pane.describe


async def test_switching_source_drops_the_old_session_and_ends_its_threads(daemon, image, uniq):
    live = run_ctr(
        daemon, image, f"lv-live-{uniq}", "while true; do echo live; sleep 0.05; done", wait=False
    )
    done = run_ctr(daemon, image, f"lv-done-{uniq}", "echo one; echo two")
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.open_container([live])
        await wait_until(pilot, lambda: len(pane.model.buffer) > 5, what="live lines")
        old = workers_running(app)
        assert old
        pane.open_container([done])
        await wait_until(pilot, lambda: pane.state == "ended", what="the second log")
        await pilot.pause(0.5)  # the live container is still writing
        assert texts(pane) == ["one", "two", "container exited (exit code 0)"]
        # the follow of the running container was closed: none of its workers is left
        # (the new session's reader stays, waiting for `done` to start again)
        await wait_until(
            pilot,
            lambda: not set(old) & set(workers_running(app)),
            what="readers to end",
            timeout=10,
        )
        # and close_streams() stops a follow that would never end by itself
        pane.open_container([live])
        await wait_until(pilot, lambda: len(pane.model.buffer) > 2, what="live again")
        assert workers_running(app)
        pane.close_streams()
        await wait_until(pilot, lambda: not workers_running(app), what="close_streams", timeout=10)
        n = len(pane.model.buffer)
        await pilot.pause(0.3)
        assert len(pane.model.buffer) == n  # nothing from the closed session
    daemon.docker("rm", "-f", live)


async def test_since_window_cycle_refetches_and_says_which(daemon, image, uniq):
    name = run_ctr(daemon, image, f"lv-since-{uniq}", "seq 1 30", wait=True)
    app = PaneApp(daemon, log_tail=10)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.open_container([name])
        await wait_until(pilot, lambda: pane.state == "ended", what="tail")
        assert texts(pane)[:10] == [str(i) for i in range(21, 31)]
        title = str(app.query_one("#log-title").render())
        assert "window: last 10 lines" in title
        await pilot.press("s")
        await wait_until(pilot, lambda: pane.state == "ended", what="since 1m")
        assert texts(pane)[:30] == [str(i) for i in range(1, 31)]
        assert "window: since 1m ago" in str(app.query_one("#log-title").render())
        await pilot.press("s", "s", "s")
        await wait_until(pilot, lambda: pane.state == "ended", what="all")
        assert "window: everything" in str(app.query_one("#log-title").render())


async def test_daemon_log_levels_and_min_level_filter(daemon):
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_daemon()
        await wait_until(pilot, lambda: len(pane.model.buffer) > 5, what="daemon lines")
        assert str(daemon.log_file) in pane.describe
        lines = list(pane.model.buffer)
        assert all(ln.stream == "daemon" for ln in lines)
        assert {ln.level for ln in lines} >= {"info"}
        screen = [r for r in rows(view) if r.strip()]
        assert all(r[25:29] in ("DEBU", "INFO", "WARN", "ERRO", "FATA", "    ") for r in screen)
        await pilot.press("v", "v")  # all -> info -> warning
        assert pane.model.min_level == "warning"
        assert all(
            ln.level in ("warning", "error", "fatal", None) for ln in pane.model.visible_lines()
        )
        assert "level ≥ warning" in pane.status_text().plain
        await pilot.press("v", "v")
        assert pane.model.min_level is None
    # an unreadable source says so in the pane
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        app.pane.open_daemon("/nonexistent/docker.log")
        await wait_until(pilot, lambda: app.pane.state == "failed", what="failure")
        assert "/nonexistent/docker.log: no such file" in app.pane.status_text().plain


async def test_bindings_have_descriptions_and_the_prompt_closes_on_escape(daemon):
    for b in LogPane.BINDINGS:
        assert b.description, b
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        prompt = app.query_one("#log-prompt")
        assert prompt.has_focus and prompt.has_class("-open")
        await pilot.press("x", "escape")
        assert not prompt.has_class("-open") and app.pane.view.has_focus
        assert app.pane.model.search_re is None


async def test_open_before_mount_starts_on_mount(daemon, image, uniq):
    name = run_ctr(daemon, image, f"lv-early-{uniq}", "echo early")
    app = PaneApp(daemon)
    app.pane.open_container([name])  # the console may do this before mounting the pane
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.pane.state == "ended", what="the log")
        assert texts(app.pane)[0] == "early"


# ------------------------------------------------------------------ re-attach (issue #3)


def started_again(pane: LogPane) -> list[str]:
    return [
        ln.text for ln in pane.model.buffer if ln.stream == "meta" and "started again" in ln.text
    ]


async def test_follow_reattaches_to_a_container_recreated_under_the_name(daemon, image, uniq):
    name = run_ctr(
        daemon,
        image,
        f"lv-recreate-{uniq}",
        "echo old-run; while true; do sleep 0.2; done",
        wait=False,
    )
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([name])
        await wait_until(pilot, lambda: "old-run" in texts(pane), what="the first run's line")
        assert pane.state == "streaming"
        daemon.docker("rm", "-f", name)
        await wait_until(pilot, lambda: pane.state == "ended", what="the end of the follow")
        assert texts(pane)[-1] == "container removed"
        assert "waiting for it to start again" in pane.status_text().plain
        assert workers_running(app)  # still waiting, not ended
        # a new container under the same name: followed from its first line
        daemon.docker(
            "run",
            "-d",
            "--name",
            name,
            image,
            "sh",
            "-c",
            "echo new-run-line [bold]x[/bold]; sleep 1000",
        )
        new_id = daemon.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
        await wait_until(
            pilot,
            lambda: "new-run-line [bold]x[/bold]" in texts(pane),
            what="the new container's line",
        )
        assert started_again(pane) == [
            f"container {name} started again (new id {new_id[:12]}): following"
        ]
        assert texts(pane)[-2:] == [started_again(pane)[0], "new-run-line [bold]x[/bold]"]
        assert texts(pane).count("old-run") == 1
        assert pane.state == "streaming"
        await pilot.pause(0.2)
        screen = [r.strip() for r in rows(view) if r.strip()]
        assert any(
            f"container {name} started again (new id {new_id[:12]}): following" in r for r in screen
        )
        assert "new-run-line [bold]x[/bold]" in screen  # no markup taken from the container
    daemon.docker("rm", "-f", name)


async def test_follow_goes_on_after_docker_restart(daemon, image, uniq):
    # each run says who it is once, then ticks; TERM ends it at once
    name = run_ctr(
        daemon,
        image,
        f"lv-restart-{uniq}",
        "trap 'exit 0' TERM; echo boot $(cat /proc/sys/kernel/random/uuid); "
        "while true; do echo tick; sleep 0.2; done",
        wait=False,
    )
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane

        def boots() -> list[str]:
            return [t for t in texts(pane) if t.startswith("boot ")]

        pane.open_container([name])
        await wait_until(
            pilot, lambda: len(boots()) == 1 and "tick" in texts(pane), what="the first run"
        )
        cid = daemon.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
        daemon.docker("restart", "-t", "5", name, timeout=60)
        await wait_until(pilot, lambda: len(boots()) == 2, what="the second run's first line")
        first, second = boots()
        assert first != second  # the new run's line, not the old one again
        assert started_again(pane) == [
            f"container {name} started again (same id {cid[:12]}): following"
        ]
        n = len(pane.model.buffer)
        await wait_until(pilot, lambda: len(pane.model.buffer) > n + 3, what="new ticks")
        assert pane.state == "streaming"
        got = texts(pane)
        assert got.index(started_again(pane)[0]) < got.index(second)
        assert len(boots()) == 2  # nothing read twice
    daemon.docker("rm", "-f", name)


async def test_merged_view_reattaches_per_container(daemon, image, uniq):
    a, b = f"lv-ma-{uniq}", f"lv-mb-{uniq}"
    run_ctr(daemon, image, a, "echo a-first")
    run_ctr(daemon, image, b, "echo b-first; sleep 1000", wait=False)
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.open_container([a, b])
        await wait_until(
            pilot, lambda: {"a-first", "b-first"} <= set(texts(pane)), what="both first lines"
        )
        daemon.docker("start", a)  # `a` runs again: only its new line comes
        await wait_until(pilot, lambda: texts(pane).count("a-first") == 2, what="a's second run")
        assert (
            len(started_again(pane)) == 1
            and f"container {a} started again" in started_again(pane)[0]
        )
        await pilot.pause(0.5)
        assert texts(pane).count("a-first") == 2 and texts(pane).count("b-first") == 1
    daemon.docker("rm", "-f", a, b)


async def test_close_streams_while_waiting_for_a_restart_is_quick_and_leaves_no_thread(
    daemon, image, uniq
):
    a = run_ctr(daemon, image, f"lv-wait-{uniq}", "echo bye")
    b = run_ctr(daemon, image, f"lv-wait2-{uniq}", "echo bye2")
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        for targets in ([a], [a, b]):
            before = {t.ident for t in threading.enumerate()}
            pane.open_container(targets)
            await wait_until(pilot, lambda: pane.state == "ended", what="the waiting state")
            assert "waiting for it to start again" in pane.state_text
            await pilot.pause(0.3)
            assert workers_running(app)  # the reader waits on docker events
            t0 = time.monotonic()
            pane.close_streams()
            assert time.monotonic() - t0 < 0.5
            await wait_until(
                pilot, lambda: not workers_running(app), what="the readers to end", timeout=3
            )
            await wait_until(
                pilot,
                lambda: (
                    not [
                        t
                        for t in threading.enumerate()
                        if t.ident not in before and t.name.startswith("dockscope-logs")
                    ]
                ),
                what="the merge threads to end",
                timeout=3,
            )
            assert pane.state == "ended"
            # and nothing comes from the closed session when the container starts again
            n = len(pane.model.buffer)
            daemon.docker("start", a)
            daemon.docker("wait", a, timeout=30)
            await pilot.pause(0.5)
            assert len(pane.model.buffer) == n
        # unmount while waiting also ends the wait at once
        pane.open_container([a])
        await wait_until(pilot, lambda: pane.state == "ended", what="waiting again")
        await pilot.pause(0.3)
        t0 = time.monotonic()
        await pane.remove()
        await wait_until(
            pilot, lambda: not workers_running(app), what="readers after unmount", timeout=3
        )
        assert time.monotonic() - t0 < 3
    daemon.docker("rm", "-f", a, b)


async def test_pause_key_search_state_per_source_and_one_key_filter_clear(daemon, image, uniq):
    a = run_ctr(daemon, image, f"lv-pa-{uniq}", NEEDLES + "; sleep 300", wait=False)
    b = run_ctr(daemon, image, f"lv-pb-{uniq}", "seq 1 30")
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        pane.open_container([a])
        await wait_until(pilot, lambda: len(pane.model.buffer) >= 200, what="the log of a")
        # p pauses: the status says so, with the count of lines that came meanwhile
        await pilot.press("p")
        assert not view.following and "paused, 0 new" in pane.status_text().plain
        view.add_lines([LogLine(a, "stdout", None, "late line")])
        assert "paused, 1 new" in pane.status_text().plain
        await pilot.press("p")
        assert view.following and "following" in pane.status_text().plain
        # search and filter on a, then b: b starts clean; back on a, a's state is back
        await pilot.press("slash", *"needle", "enter")
        await pilot.press("ampersand", *"needle", "enter")
        assert pane.model.search_text == "needle" and len(texts(pane)) == 4
        pane.open_container([b])
        await wait_until(pilot, lambda: pane.state == "ended", what="the whole log of b")
        assert pane.model.search_text == "" and pane.model.filter_text == ""
        assert len(texts(pane)) == 31  # 30 lines + "container exited"
        pane.open_container([a])
        await wait_until(pilot, lambda: len(pane.model.buffer) >= 200, what="a again")
        assert pane.model.search_text == "needle" and pane.model.filter_text == "needle"
        assert texts(pane) == ["needle 50", "needle 100", "needle 150", "needle 200"]
        # backspace clears the & filter in one key (the search stays)
        await pilot.press("backspace")
        assert pane.model.filter_text == "" and len(texts(pane)) == 200
        assert pane.model.search_text == "needle"
    daemon.docker("rm", "-f", a, check=False)


async def test_filter_matches_the_level_as_displayed(daemon):
    """`&` WARN / warn / warning find every level=warning line of the real
    daemon log (the level is shown as a WARN badge, not in the message)."""
    app = PaneApp(daemon)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        pane.open_daemon()
        await wait_until(pilot, lambda: len(pane.model.buffer) > 5, what="daemon lines")
        await pilot.pause(0.5)
        lines = list(pane.model.buffer)
        warns = [ln for ln in lines if ln.level == "warning"]
        assert warns, "the harness dockerd logs warnings at start"
        for word in ("WARN", "warn", "warning", "Warning"):
            await pilot.press("ampersand", *word, "enter")
            shown = list(pane.model.visible_lines())
            for ln in warns:
                assert ln in shown, (word, ln.text)
            assert all(ln.level == "warning" or "warn" in ln.text.lower() for ln in shown), word
            await pilot.press("escape")
        # the message is matched without regard to case too
        word = warns[0].text.split()[0]
        await pilot.press("ampersand", *word.upper(), "enter")
        assert warns[0] in list(pane.model.visible_lines())
