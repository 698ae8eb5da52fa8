"""The one private-file writer (report -o, the log save) and the read-only rule
for files.

:func:`write_private` writes a new temporary file in the target directory
(``O_EXCL | O_NOFOLLOW``, mode 0600), fsyncs it and renames it over the target:
it never writes through a symlink, refuses an existing symlink (or a
non-regular file) at the target, and refuses a parent directory reached
through a symlink owned by another user (a planted ``/tmp/x -> /etc``).

:func:`save_private` is what a front calls for a user-chosen path: in read-only
mode it only writes under dockscope's own config and cache directories.
"""

from __future__ import annotations

import os
import stat
import time

from actions import guard
from actions.validate import ActionError


class UnsafePath(ActionError):
    """The target cannot be written safely; nothing was written."""


def own_dirs() -> list[str]:
    """dockscope's own config and cache directories (XDG)."""
    home = os.path.expanduser("~")
    cfg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return [os.path.join(cfg, "dockscope"), os.path.join(cache, "dockscope")]


def _check_parent(parent: str) -> None:
    """Every symlink on the way to ``parent`` must be owned by root or by us."""
    me = os.geteuid()
    cur = "/"
    for part in [p for p in parent.split("/") if p]:
        cur = os.path.join(cur, part)
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            raise UnsafePath("no such directory", f"{parent} does not exist") from None
        if stat.S_ISLNK(st.st_mode) and st.st_uid not in (0, me):
            raise UnsafePath(
                "refusing a symlinked directory",
                f"{cur} is a symlink owned by uid {st.st_uid} (-> {os.readlink(cur)}): "
                "write somewhere else. Nothing was written",
            )


def new_temp(
    directory: str, name: str, data: bytes, mode: int = 0o600, owner: tuple[int, int] | None = None
) -> str:
    """A new file ``.{name}.<pid>.<n>.tmp`` in ``directory`` holding ``data``, fsynced.

    Created O_EXCL|O_NOFOLLOW at 0600 (never through a symlink), then given ``mode`` and, when
    allowed, ``owner`` (uid, gid). Raises OSError with the temporary file removed, or
    FileExistsError when no name is free. The one temporary-file writer of actions/.
    """
    for n in range(100):
        tmp = os.path.join(directory, f".{name}.{os.getpid()}.{time.monotonic_ns()}.{n}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no temporary name free in {directory}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if owner is not None:
                try:
                    os.fchown(fh.fileno(), *owner)
                except PermissionError:
                    pass
            os.fsync(fh.fileno())
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def write_private(path: str, data: bytes | str) -> str:
    """Write ``data`` to ``path`` as a new 0600 file; returns the absolute path."""
    path = os.path.abspath(os.path.expanduser(path))
    parent = os.path.dirname(path)
    _check_parent(parent)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise UnsafePath(
            "refusing to write through a symlink",
            f"{path} is a symlink (-> {os.readlink(path)}): remove it or choose another name. "
            "Nothing was written",
        )
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UnsafePath("not a regular file", f"{path} exists and is not a regular file")
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    try:
        tmp = new_temp(parent, os.path.basename(path), data)
    except FileExistsError:  # pragma: no cover
        raise ActionError("cannot write", f"no temporary name free in {parent}") from None
    except OSError as e:
        raise ActionError("cannot write", f"{parent}: {e.strerror or e}") from None
    try:
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ActionError("cannot write", f"{path}: {e.strerror or e}") from None
    return path


def check_save(path: str) -> None:
    """Refuse a write outside dockscope's own directories in read-only mode."""
    if not guard.is_read_only():
        return
    real = os.path.realpath(os.path.abspath(os.path.expanduser(path)))
    for d in own_dirs():
        d = os.path.realpath(d)
        if real == d or real.startswith(d + os.sep):
            return
    guard.check_writable(f"write {path} (read-only allows only {', '.join(own_dirs())})")


def save_private(path: str, data: bytes | str) -> str:
    """The log save / report writer for a user-chosen path (read-only aware)."""
    check_save(path)
    return write_private(path, data)


__all__ = ["UnsafePath", "write_private", "save_private", "check_save", "own_dirs"]
