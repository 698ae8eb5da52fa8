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

from tests.cluster import cluster  # noqa: E402,F401  (the 3-node swarm fixture)
from tests.harness import IMAGE, TestDaemon  # noqa: E402
from tests.helpers import started  # noqa: E402


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
