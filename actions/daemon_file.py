"""daemon.json as bytes: strict parsing, a byte-exact one-key edit, the lock, and
writes that either happen completely or leave nothing behind.

* :func:`parse` refuses what some dockerd would refuse: a byte-order mark
  (dockerd 20.10 rejects a UTF-8 BOM), invalid UTF-8, invalid JSON (with line
  and column), a top level that is not an object.
* :func:`set_key` changes only the bytes of one top-level key's value (or adds
  the key after the last one, with the file's own indentation and line ends):
  inline arrays, escapes like ``\\u00e9``, key order and spacing stay as they
  were, byte for byte.
* :func:`locked` holds an exclusive flock on daemon.json's directory around
  read-modify-write-reload, so two dockscopes cannot interleave (and nothing is
  created: the lock is on the directory itself).
* :func:`check_writable_file` refuses, before any change, what would fail half
  way: an immutable or append-only file or directory (``chattr +i``), a bind
  mount (rename onto a mount point is EBUSY; writing in place is not safe), a
  read-only file system, a user without write access.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from actions.validate import ActionError

BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
LOCK_TIMEOUT = 120.0


def parse(raw: bytes, path: str) -> tuple[dict | None, str | None]:
    """``(config, None)`` or ``(None, "path: line L column C: what")``."""
    if raw.startswith(BOMS):
        kind = "UTF-8" if raw.startswith(BOMS[0]) else "UTF-16"
        return None, (
            f"{path}: line 1 column 1: starts with a {kind} byte-order mark, which dockerd "
            "20.10 rejects: save it as UTF-8 without a BOM"
        )
    from inspectors.daemon import parse_daemon_json  # the one daemon.json decoder

    return parse_daemon_json(raw, path)


def read(path: str) -> tuple[bytes, bool]:
    """(bytes, exists). A missing file is empty."""
    from inspectors.daemon import read_regular

    try:
        return read_regular(path), True
    except FileNotFoundError:
        return b"", False
    except OSError as e:
        raise ActionError("cannot read daemon.json", f"{path}: {e.strerror or e}") from None


# --------------------------------------------------------------------------- the edit


def _ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _members(text: str) -> tuple[int, list[tuple[str, int, int]]]:
    """(index of the opening brace, [(key, value start, value end)]) of the top level."""
    dec = json.JSONDecoder()
    i = _ws(text, 0)
    brace = i
    i = _ws(text, i + 1)
    out: list[tuple[str, int, int]] = []
    if text[i] == "}":
        return brace, out
    while True:
        key, i = json.decoder.scanstring(text, i + 1)  # i is at the opening quote
        i = _ws(text, _ws(text, i) + 1)  # past ':'
        _, end = dec.raw_decode(text, i)
        out.append((key, i, end))
        i = _ws(text, end)
        if text[i] == "}":
            return brace, out
        i = _ws(text, i + 1)  # past ','


def set_key(raw: bytes, key: str, value: Any) -> bytes:
    """``raw`` (valid per :func:`parse`) with only ``key``'s value bytes changed."""
    text = raw.decode("utf-8")
    val = json.dumps(value)
    if not text.strip():
        return ("{\n  " + json.dumps(key) + ": " + val + "\n}\n").encode()
    brace, members = _members(text)
    hits = [(s, e) for k, s, e in members if k == key]
    if hits:
        for s, e in reversed(hits):  # a duplicated key: dockerd's JSON decoder takes the last
            text = text[:s] + val + text[e:]
        return text.encode("utf-8")
    if not members:
        close = text.index("}", brace)
        inner = text[brace + 1 : close]
        nl = "\r\n" if "\r\n" in text else "\n"
        body = (
            f"{nl}  {json.dumps(key)}: {val}{nl}"
            if "\n" in inner or "\n" in text
            else f"{json.dumps(key)}: {val}"
        )
        return (text[: brace + 1] + body + text[close:]).encode("utf-8")
    # after the last member, separated like the first member is from the brace
    first_key = text.index('"', brace)
    sep = text[brace + 1 : first_key]
    last_end = members[-1][2]
    sample = text[members[0][1] - 2 : members[0][1]] if members[0][1] >= 2 else ": "
    colon = ": " if sample.endswith(": ") or sample.endswith(":\t") else ":"
    addition = "," + sep + json.dumps(key) + colon + val
    return (text[:last_end] + addition + text[last_end:]).encode("utf-8")


# --------------------------------------------------------------------------- the lock


@contextmanager
def locked(path: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """An exclusive flock on the directory holding ``path`` (waits up to ``timeout``)."""
    directory = os.path.dirname(path) or "."
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise ActionError("cannot lock daemon.json", f"{directory}: {e.strerror or e}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ActionError(
                        "daemon.json is busy",
                        f"another process holds the lock on {directory} (another dockscope "
                        "changing it?): nothing was changed; try again",
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


# --------------------------------------------------------------------------- checks


_FS_IOC_GETFLAGS = 0x80086601  # linux/fs.h; no maintained Python binding reads inode flags
_FL_IMMUTABLE, _FL_APPEND = 0x10, 0x20


def inode_flags(path: str) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        buf = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, struct.pack("l", 0))
        return struct.unpack("l", buf)[0]
    except OSError:
        return None
    finally:
        os.close(fd)


def _is_mount_point(path: str) -> bool:
    import psutil

    real = os.path.realpath(path)
    try:
        return any(p.mountpoint == real for p in psutil.disk_partitions(all=True))
    except Exception:
        return False


def check_path(path: str) -> None:
    """No symlink at daemon.json, and (as root) no directory on its way that another
    user owns: root never writes where a user can swap the file or a directory."""
    if os.path.islink(path):
        raise ActionError(
            "daemon.json is a symlink",
            f"{path} -> {os.readlink(path)}: not written through; edit the real file. "
            "Nothing was changed",
        )
    if os.geteuid() != 0:
        return
    d = os.path.dirname(os.path.abspath(path))
    while True:
        try:
            st = os.lstat(d)
        except OSError:
            break
        if st.st_uid != 0 or (st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX):
            raise ActionError(
                "daemon.json is in another user's directory",
                f"{d} is owned by uid {st.st_uid}"
                + (" and writable by everyone" if st.st_uid == 0 else "")
                + f": dockscope as root does not write {path} there (that user could swap it "
                "for a link); run dockscope as that user. Nothing was changed",
            )
        if d == "/":
            break
        d = os.path.dirname(d)


def check_writable_file(path: str) -> None:
    """Refuse (one line, nothing changed) when replacing ``path`` cannot work."""
    directory = os.path.dirname(path) or "."
    for p, what in ((path, "file"), (directory, "directory")):
        flags = inode_flags(p)
        if flags is None:
            continue
        if flags & (_FL_IMMUTABLE | _FL_APPEND):
            attr = "immutable" if flags & _FL_IMMUTABLE else "append-only"
            letter = "i" if flags & _FL_IMMUTABLE else "a"
            raise ActionError(
                f"daemon.json {what} is {attr}",
                f"{p} has the {attr} attribute (lsattr {'-d ' if what == 'directory' else ''}"
                f"{p}): someone protected it on purpose; remove it with chattr -{letter} "
                f"{p} if the change is intended. Nothing was changed",
            )
    if os.path.exists(path) and _is_mount_point(path):
        raise ActionError(
            "daemon.json is a mount point",
            f"{path} is bind-mounted: it cannot be replaced atomically and is not edited "
            "in place; change it at its source. Nothing was changed",
        )
    try:
        vfs = os.statvfs(directory)
        if vfs.f_flag & os.ST_RDONLY:
            raise ActionError(
                "read-only file system",
                f"{directory} is on a read-only file system. Nothing was changed",
            )
    except OSError:
        pass
    if not os.access(directory, os.W_OK | os.X_OK) or (
        os.path.exists(path) and not os.access(path, os.W_OK)
    ):
        who = "root" if os.geteuid() != 0 else "a user allowed to write there"
        raise ActionError(
            "permission denied",
            f"cannot write {path} as uid {os.geteuid()}: run dockscope as {who} "
            "(e.g. with sudo). Nothing was changed",
        )


# --------------------------------------------------------------------------- writes


@dataclass
class FileState:
    path: str
    raw: bytes
    exists: bool
    mode: int
    uid: int
    gid: int


def state(path: str) -> FileState:
    raw, exists = read(path)
    if exists:
        st = os.stat(path)
        return FileState(path, raw, True, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return FileState(path, raw, False, 0o644, 0, 0)


def _why(e: OSError, path: str) -> str:
    if e.errno == errno.EBUSY:
        return f"{path} is a mount point (EBUSY on rename): change it at its source"
    if e.errno == errno.EPERM:
        return f"{path} or its directory is protected (immutable? lsattr): {e.strerror}"
    if e.errno == errno.EROFS:
        return f"{path} is on a read-only file system"
    if e.errno == errno.EACCES:
        return f"permission denied writing {path}: run as root"
    return f"{path}: {e.strerror or e}"


def write_temp(directory: str, data: bytes, mode: int, uid: int, gid: int) -> str:
    """A new file (O_EXCL, never through a symlink) in ``directory``, fsynced."""
    from actions.files import new_temp  # the one temporary-file writer

    try:
        return new_temp(directory, "daemon.json", data, mode, (uid, gid))
    except FileExistsError:  # pragma: no cover
        raise ActionError(
            "cannot write daemon.json", f"no temporary name free in {directory}"
        ) from None
    except OSError as e:
        raise ActionError("cannot write daemon.json", _why(e, directory)) from None


def _unlink(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def backup(fs: FileState) -> str | None:
    if not fs.exists:
        return None
    ts = time.strftime("%Y%m%d-%H%M%S")
    dest, n = f"{fs.path}.bak.{ts}", 1
    while os.path.lexists(dest):
        n += 1
        dest = f"{fs.path}.bak.{ts}.{n}"
    # a backup is a file we create: 0600 whatever the original's mode (it may hold secrets)
    tmp = write_temp(os.path.dirname(fs.path), fs.raw, 0o600, fs.uid, fs.gid)
    try:
        os.rename(tmp, dest)
    except OSError as e:
        _unlink(tmp)
        raise ActionError("cannot back up daemon.json", _why(e, dest)) from None
    return dest


def replace(fs: FileState, tmp: str, bak: str | None) -> None:
    """Rename ``tmp`` over the file; on failure remove ``tmp`` and ``bak``: nothing left."""
    try:
        os.replace(tmp, fs.path)
    except OSError as e:
        _unlink(tmp)
        _unlink(bak)
        raise ActionError(
            "cannot replace daemon.json", _why(e, fs.path) + ". Nothing was changed"
        ) from None
    try:
        dfd = os.open(os.path.dirname(fs.path) or ".", os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def restore(fs: FileState) -> None:
    """Put the previous content back (or remove a file that did not exist)."""
    if not fs.exists:
        _unlink(fs.path)
        return
    tmp = write_temp(os.path.dirname(fs.path), fs.raw, fs.mode, fs.uid, fs.gid)
    try:
        os.replace(tmp, fs.path)
    except OSError:
        _unlink(tmp)
        raise


__all__ = [
    "check_path",
    "parse",
    "read",
    "set_key",
    "locked",
    "check_writable_file",
    "inode_flags",
    "FileState",
    "state",
    "write_temp",
    "backup",
    "replace",
    "restore",
]
