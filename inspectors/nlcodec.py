"""How dockscope decodes rtnetlink messages with pyroute2's classes: the lean link
policy (:func:`lean_policy`: the attributes no reader uses left undecoded, every
attribute chain decoded on first access), :func:`body_of` (a message's bytes, for
reusing a record) and :func:`attrs` (attributes by name).

pyroute2 is imported when :func:`lean_policy` is first called, not here: the
doctor's own process imports this module and never pyroute2. Never imports Textual.

Every import of a part of pyroute2 in inspectors/ is preceded by
:func:`whole_pyroute2` (``import pyroute2`` by name): a thread importing a part
(``pyroute2.netlink...``) while another runs the package's first import does not
wait for it, and the import system's deadlock escape can leave a half-made module
bound for good (seen: ``module 'pyroute2.netns' has no attribute 'create_socket'``
in `dockscope path`, whose socket walk and namespace reads import pyroute2 from two
threads). Importing the package by name waits for a first import under way.
"""

from __future__ import annotations

import importlib


def whole_pyroute2():
    """The pyroute2 package, imported by name: call it before importing a part of
    pyroute2 (a first import under way in another thread is waited for)."""
    return importlib.import_module("pyroute2")


_LEAN: dict | None = None
# the link attributes the readers use; pyroute2 decodes every other one too
# (IFLA_AF_SPEC alone is ~60 nested objects per link): those stay undecoded
_LEAN_KEEP = {
    "IFLA_ADDRESS",
    "IFLA_IFNAME",
    "IFLA_MTU",
    "IFLA_LINK",
    "IFLA_MASTER",
    "IFLA_OPERSTATE",
    "IFLA_LINKINFO",
    "IFLA_STATS64",
    "IFLA_PROMISCUITY",
    "IFLA_CARRIER",
    "IFLA_LINK_NETNSID",
}

_LEAN_BRPORT = {"IFLA_BRPORT_STATE", "IFLA_BRPORT_COST", "IFLA_BRPORT_MODE", "IFLA_BRPORT_NO"}


class _Deferred:
    """Mixin for a pyroute2 message class: the attribute chain is decoded (by
    pyroute2, ``decode_nlas``) on the first access to ``msg["attrs"]``, not when the
    message arrives. A reader that reuses the record of a message whose bytes it has
    seen before never pays for the decoding (it is most of a link dump's cost:
    pyroute2 builds one object per attribute, ~90 per bridge port)."""

    def decode_nlas(self, offset):
        self.__dict__["_nlas_at"] = offset

    def __getitem__(self, key):
        if key == "attrs":
            at = self.__dict__.pop("_nlas_at", None)
            if at is not None:
                super().decode_nlas(at)
        return super().__getitem__(key)

    def get(self, key, default=None):
        # pyroute2's receive loop asks every message for get("header"), which
        # looks for an IFLA_HEADER attribute first: the header is no attribute
        if key == "header":
            return dict.get(self, "header", default)
        return super().get(key, default)


def body_of(msg) -> bytes:
    """A message's bytes after its netlink header: equal bytes decode equally."""
    return bytes(msg.data[msg.offset + 16 : msg.offset + msg["header"]["length"]])


def lean_policy() -> dict:
    """A pyroute2 decoding policy (``register_policy``) for RTM_NEWLINK and
    RTM_NEWADDR: pyroute2's own ``ifinfmsg``/``ifaddrmsg``, the link one with every
    attribute the readers do not use mapped to its ``none`` type (skipped), both
    decoding their attributes only when first read (:class:`_Deferred`)."""
    global _LEAN
    if _LEAN is None:
        whole_pyroute2()
        from pyroute2.netlink.rtnl import RTM_NEWADDR, RTM_NEWLINK
        from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
        from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

        def lean(cls, keep) -> tuple:
            out = []
            for i, e in enumerate(cls.nla_map):
                idx, name, typ = e if len(e) == 3 else (i, *e)
                out.append((idx, name, typ if name in keep else "none"))
            return tuple(out)

        # a bridge port's IFLA_INFO_SLAVE_DATA: ~40 attributes, four read (link_record)
        class lean_brport(ifinfmsg.ifinfo.bridge_slave_data):
            nla_map = lean(ifinfmsg.ifinfo.bridge_slave_data, _LEAN_BRPORT)

        class lean_ifinfo(ifinfmsg.ifinfo):
            bridge_slave_data = lean_brport

        class lean_ifinfmsg(_Deferred, ifinfmsg):
            ifinfo = lean_ifinfo

        nla_map = lean(ifinfmsg, _LEAN_KEEP)

        class lazy_ifaddrmsg(_Deferred, ifaddrmsg):
            pass

        lean_ifinfmsg.nla_map = nla_map
        # pyroute2 compiles a class's attribute table on its first instance and marks
        # the class compiled, a mark a subclass inherits: a lean class made after
        # pyroute2's own one was used would decode with its parent's whole table.
        # Compiled here, each from its own map (and its own nested classes)
        for cls in (lean_brport, lean_ifinfo, lean_ifinfmsg, lazy_ifaddrmsg):
            cls().compile_nla_table()
        _LEAN = {RTM_NEWLINK: lean_ifinfmsg, RTM_NEWADDR: lazy_ifaddrmsg}
    return _LEAN


class attrs:
    """A pyroute2 message's attributes by name, built in one pass (not a scan
    of the list per ``get``); values are decoded only when asked for (pyroute2
    decodes an attribute on first access)."""

    __slots__ = ("_slots",)

    def __init__(self, msg):
        self._slots = {slot[0]: slot for slot in msg["attrs"]}

    def get(self, name: str, default=None):
        slot = self._slots.get(name)
        return default if slot is None else slot[1]
