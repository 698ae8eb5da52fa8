"""Shared pieces of every action: errors, results, field validation helpers.

No Textual here (the CLI and the TUI both use these). Rules every action keeps:

* validate first; on invalid input raise :class:`ValidationFailed` (a list of
  :class:`FieldError`) before anything is changed;
* refusals that happen before any change (read-only mode, the engine saying
  no) raise an :class:`ActionError` whose ``detail`` is the engine's message
  verbatim;
* once something was changed, a result dataclass is returned saying what
  changed, with the equivalent ``docker`` command line and, where the reverse
  exists, an ``undo`` callable.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
# label/option keys: anything printable without whitespace or '='
KEY_RE = re.compile(r"^[^\s=]+$")


@dataclass
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ActionError(Exception):
    """An action refused or the engine refused it; nothing was changed.

    ``detail`` is shown as-is (never markup) and, for engine refusals, is the
    engine's own message verbatim.
    """

    def __init__(self, title: str, detail: str = "", command: str | None = None):
        super().__init__(f"{title}: {detail}" if detail else title)
        self.title = title
        self.detail = detail
        self.command = command


class ValidationFailed(ActionError):
    def __init__(self, errors: list[FieldError], command: str | None = None):
        self.errors = list(errors)
        super().__init__("invalid input", "; ".join(str(e) for e in self.errors), command)


class EngineRefused(ActionError):
    """The Docker engine answered with an error; ``detail`` is its message."""

    def __init__(self, detail: str, command: str | None = None, status: int | None = None):
        super().__init__("the engine refused", detail, command)
        self.status = status


@dataclass
class ActionResult:
    """What an action did.

    ``changed`` is a list of human lines ("created network foo (bridge,
    10.1.0.0/24)"); ``command`` the equivalent docker CLI line; ``undo`` a
    callable taking the same client, when the reverse exists.
    """

    action: str
    target: str
    changed: list[str] = field(default_factory=list)
    command: str = ""
    undo_description: str | None = None
    undo_command: str | None = None
    undo: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    # the reverse as a plan (confirmed like any action): undo_plan(client) -> Plan
    undo_plan: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ok: bool = True


def cli(*argv: Any) -> str:
    """A shell-quoted command line from words (None and '' dropped)."""
    return shlex.join(str(a) for a in argv if a is not None and a != "")


def engine_message(exc: BaseException) -> str:
    """The engine's own refusal text, one clean line (no traceback)."""
    expl = getattr(exc, "explanation", None)
    if expl:
        if isinstance(expl, bytes):
            expl = expl.decode(errors="replace")
        return str(expl).strip()
    return str(exc).strip() or exc.__class__.__name__


# --------------------------------------------------------------------------- syntax


def check_name(value: str, what: str = "name") -> str | None:
    if not value:
        return f"{what} is required"
    if not NAME_RE.match(value):
        return (
            f"invalid {what} {value!r}: must start with a letter or digit and contain "
            "only letters, digits, '_', '.', '-'"
        )
    return None


def parse_kv(
    items: list[str] | dict[str, str] | str | None, what: str
) -> tuple[dict[str, str], list[str]]:
    """``["k=v", ...]`` (or one comma/space separated string) -> (dict, errors)."""
    if items is None:
        return {}, []
    if isinstance(items, dict):
        out, errs = {}, []
        for k, v in items.items():
            if not KEY_RE.match(str(k)):
                errs.append(f"invalid {what} key {k!r}")
            out[str(k)] = str(v)
        return out, errs
    if isinstance(items, str):
        items = split_words(items)
    out, errs = {}, []
    for raw in items:
        raw = raw.strip()
        if not raw:
            continue
        if "=" not in raw:
            errs.append(f"{what} {raw!r} is not key=value")
            continue
        k, v = raw.split("=", 1)
        if not KEY_RE.match(k):
            errs.append(f"{what} {raw!r} has an invalid key")
            continue
        out[k] = v
    return out, errs


def split_words(text: str) -> list[str]:
    """Split a form field on commas and whitespace."""
    return [w for w in re.split(r"[\s,]+", text or "") if w]


def parse_cidr(value: str, version: int | None = None) -> tuple[Any, str | None]:
    """(network, error). Refuses host bits and the wrong IP family."""
    value = (value or "").strip()
    if "/" not in value:
        return None, f"{value!r} is not in CIDR notation (e.g. 10.10.0.0/24)"
    try:
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None, f"{value!r} is not a valid CIDR subnet"
    if version and loose.version != version:
        return None, f"{value!r} is not an IPv{version} subnet"
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None, f"{value!r} has host bits set (did you mean {loose}?)"
    return net, None


def parse_ip(value: str, version: int | None = None) -> tuple[Any, str | None]:
    value = (value or "").strip()
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None, f"{value!r} is not a valid IP address"
    if version and ip.version != version:
        return None, f"{value!r} is not an IPv{version} address"
    return ip, None


# ranges a network, an IP range or a gateway must never use (RFC 6890 special-purpose)
_RESERVED = [
    (ipaddress.ip_network("0.0.0.0/8"), "unspecified ('this network', 0.0.0.0/8)"),
    (ipaddress.ip_network("127.0.0.0/8"), "loopback (127.0.0.0/8)"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local (169.254.0.0/16)"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast (224.0.0.0/4)"),
    (ipaddress.ip_network("240.0.0.0/4"), "reserved (240.0.0.0/4, incl. broadcast)"),
    (ipaddress.ip_network("::/128"), "unspecified (::)"),
    (ipaddress.ip_network("::1/128"), "loopback (::1)"),
    (ipaddress.ip_network("fe80::/10"), "link-local (fe80::/10)"),
    (ipaddress.ip_network("ff00::/8"), "multicast (ff00::/8)"),
]


def reserved_range(value: Any) -> str | None:
    """Why a subnet or address lies in a loopback, multicast, link-local,
    unspecified or reserved range (one line), or None."""
    net = ipaddress.ip_network(value) if not hasattr(value, "prefixlen") else value
    for r, what in _RESERVED:
        if r.version == net.version and net.overlaps(r):
            return f"{value} is in the {what} range: the kernel or the engine treats it specially"
    return None


VPN_HINTS = ("wg", "tun", "tap", "ppp", "tailscale", "zt", "nordlynx", "utun", "ipsec", "vti")


def iface_hint(name: str) -> str:
    low = (name or "").lower()
    return " (a VPN interface?)" if low.startswith(VPN_HINTS) else ""
