"""Shared fixtures: the dedicated test engine (tests/harness.py)."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import cluster as _cluster  # noqa: E402
from tests.cluster import cluster  # noqa: E402,F401  (the 3-node swarm fixture)
from tests.harness import IMAGE, TestDaemon  # noqa: E402
from tests.helpers import started  # noqa: E402


_XDG_KEYS = ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
_xdg_dir: str | None = None


def pytest_configure(config):
    """Tests never read or write the real home's dockscope files (settings, mutes,
    last path, cache): every XDG base points into a private temp dir for the whole
    session, inherited by every CLI the tests start (daemon.env() copies os.environ)."""
    global _xdg_dir
    import tempfile

    _xdg_dir = tempfile.mkdtemp(prefix="dockscope-tests-xdg-")
    for key in _XDG_KEYS:
        d = os.path.join(_xdg_dir, key.lower())
        os.makedirs(d, mode=0o700)
        os.environ[key] = d


def pytest_unconfigure(config):
    if _xdg_dir:
        shutil.rmtree(_xdg_dir, ignore_errors=True)


def _why_no_engine() -> str | None:
    if os.geteuid() != 0:
        return "engine tests need root (dockerd, namespaces, netlink writes)"
    if not shutil.which("dockerd"):
        return "dockerd is not installed (apt-get install docker.io)"
    return None


@pytest.fixture(scope="session")
def daemon():
    """The test run's own dockerd. CI runs as root, so it never skips there."""
    why = _why_no_engine()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the engine tests: {why}")
        pytest.skip(why)
    yield from started(TestDaemon())


@pytest.fixture(scope="session")
def docker_client(daemon):
    cli = daemon.client()
    yield cli
    cli.close()


@pytest.fixture
def uniq():
    """A short unique suffix for names a test creates."""
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def image():
    return IMAGE


_SESSION_PID = os.getpid()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A forked child (a library that forks without exec, a test's own fork) that
    returns into pytest instead of exiting would run the rest of the session
    beside the real one and, at its end, delete the session's shared temp
    dirs: end such a child at once."""
    if os.getpid() != _SESSION_PID:
        os._exit(70)


def pytest_collection_finish(session):
    if not session.config.option.collectonly:
        _cluster.prestart(session.items)  # the swarm's setup overlaps the first tests


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    if os.getpid() != _SESSION_PID:
        os._exit(70)
    _cluster.finish()


@pytest.fixture(autouse=True)
def _writable_after_each_test():
    """The console's read-only mode is process-wide state (actions.guard): an app a
    test started read-only (the cluster console is) must not leave the next test's
    actions refused."""
    yield
    from actions import guard

    guard.set_read_only(False)
