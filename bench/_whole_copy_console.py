"""The console as it was before stop 21, for bench/soak --whole-copy: every update
hands the UI a whole copy of the snapshot (tui.live.clone) instead of one sharing
the items that did not change with the copy before it. Everything else is the
console itself (tui.cli.main, with its allocator re-exec)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tui import live  # noqa: E402
from tui.cli import main  # noqa: E402

live.SharingClone.__call__ = lambda self, snap: live.clone(snap)  # type: ignore[method-assign]
sys.exit(main())
