"""The one daemon.json key table: which keys dockerd knows, their types, which a
reload (SIGHUP) applies, and in which engine versions they exist.

Used by the actions (validation before a write) and by the doctor's
daemon-config rule. Sources: docs/reference/dockerd.md (daemon configuration
file, "Configuration reload behavior"), moby daemon/config/config.go and
daemon/reload.go, reload_unix.go (``network-diagnostic-port`` and the NRI
settings are reloaded by the code although the docs do not list them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# key -> (first engine version, last engine version or None). Keys not listed
# here exist in every version dockscope supports (20.10 .. 29).
_SINCE_UNTIL: dict[str, tuple[str | None, str | None]] = {
    "cluster-advertise": (None, "20.10"),  # removed in 23.0
    "cluster-store": (None, "20.10"),
    "cluster-store-opts": (None, "20.10"),
    "graph": (None, "20.10"),  # removed in 23.0 (use data-root)
    "disable-legacy-registry": (None, "18.09"),
    "deprecated-key-path": (None, "20.10"),
    "host-gateway-ips": ("26.0", None),
    "ip-forward-no-drop": ("27.0", None),
    "allow-direct-routing": ("28.0", None),
    "bridge-accept-fwmark": ("28.0", None),
    "firewall-backend": ("28.2", None),
    "cdi-spec-dirs": ("24.0", None),
    "default-network-opts": ("24.0", None),
    "min-api-version": ("25.0", None),
    "features": ("20.10", None),
    "nri-opts": ("29.0", None),
    "validate": ("23.0", None),
}

_BOOL = """
debug live-restore experimental icc iptables ip6tables ipv6 ip-forward ip-masq userland-proxy
selinux-enabled no-new-privileges init raw-logs tls tlsverify allow-direct-routing
ip-forward-no-drop userland-proxy-hairpin disable-legacy-registry rootless cri-containerd
""".split()
_INT = """
mtu max-concurrent-downloads max-concurrent-uploads max-download-attempts shutdown-timeout
network-control-plane-mtu oom-score-adjust network-diagnostic-port cpu-rt-period cpu-rt-runtime
""".split()
_LIST = """
dns dns-opts dns-search insecure-registries registry-mirrors labels hosts exec-opts storage-opts
authorization-plugins allow-nondistributable-artifacts default-address-pools cdi-spec-dirs
node-generic-resources host-gateway-ips
""".split()
_DICT = """
log-opts features runtimes default-ulimits builder proxies default-network-opts
cluster-store-opts nri-opts
""".split()
_OTHER = """
api-cors-header bip bip6 bridge cgroup-parent containerd containerd-namespace
containerd-plugins-namespace cluster-advertise cluster-store data-root default-cgroupns-mode
default-gateway default-gateway-v6 default-ipc-mode default-runtime default-shm-size exec-root
firewall-backend fixed-cidr fixed-cidr-v6 group host-gateway-ip http-proxy https-proxy init-path
ip log-driver log-format log-level metrics-addr min-api-version no-proxy pidfile seccomp-profile
storage-driver swarm-default-advertise-addr tlscacert tlscert tlskey userland-proxy-path
userns-remap graph deprecated-key-path storage-opt validate bridge-accept-fwmark
""".split()

KNOWN_KEYS = frozenset(_BOOL + _INT + _LIST + _DICT + _OTHER)
BOOL_KEYS = frozenset(_BOOL)
INT_KEYS = frozenset(_INT)
LIST_KEYS = frozenset(_LIST)
DICT_KEYS = frozenset(_DICT)
ENUM_KEYS: dict[str, tuple[str, ...]] = {
    "log-level": ("debug", "info", "warn", "error", "fatal"),
    "log-format": ("text", "json"),
}

# what a SIGHUP reload applies (dockerd.md "Configuration reload behavior" + reload.go)
RELOADABLE = frozenset(
    """
debug labels live-restore max-concurrent-downloads max-concurrent-uploads max-download-attempts
default-runtime runtimes authorization-plugins allow-nondistributable-artifacts insecure-registries
registry-mirrors shutdown-timeout features default-shm-size default-ipc-mode default-cgroupns-mode
network-diagnostic-port nri-opts
""".split()
)
# what info() reports back, to confirm an applied key
INFO_FIELDS = {"debug": "Debug", "live-restore": "LiveRestoreEnabled"}


def _vt(v: str | None) -> tuple[int, ...]:
    out = []
    for part in (v or "").split("-", 1)[0].split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


@dataclass
class KeyInfo:
    key: str
    known: bool  # in this engine version
    reloadable: bool
    note: str = ""  # why unknown for this version


def key_info(key: str, engine_version: str | None = None) -> KeyInfo:
    """What this engine version does with ``key`` (no version: any supported one)."""
    if key not in KNOWN_KEYS:
        return KeyInfo(key, False, False, "not a daemon.json option")
    since, until = _SINCE_UNTIL.get(key, (None, None))
    if engine_version:
        v = _vt(engine_version)
        if since and v < _vt(since):
            return KeyInfo(key, False, False, f"needs Docker {since} or later")
        if until and v > _vt(until):
            return KeyInfo(key, False, False, f"removed after Docker {until}")
    return KeyInfo(key, True, key in RELOADABLE)


def known_keys(engine_version: str | None = None) -> frozenset[str]:
    """The keys this engine version accepts (all of them without a version)."""
    if not engine_version:
        return KNOWN_KEYS
    return frozenset(k for k in KNOWN_KEYS if key_info(k, engine_version).known)


def unknown_keys(config: dict, engine_version: str | None = None) -> list[tuple[str, str]]:
    """[(key, why)] for keys of ``config`` the engine would refuse."""
    out = []
    for k in config:
        info = key_info(k, engine_version)
        if not info.known:
            out.append((k, info.note))
    return sorted(out)


def check_value(key: str, value: Any, engine_version: str | None = None) -> str | None:
    """Known key and a value of the right type, or one line saying what is wrong."""
    info = key_info(key, engine_version)
    if not info.known:
        if key not in KNOWN_KEYS:
            return (
                f"{key!r} is not a daemon.json option dockerd knows: dockerd would refuse to "
                'start ("the following directives don\'t match any configuration option")'
            )
        return f"{key!r} is not known to this engine ({info.note}): dockerd would refuse to start"
    if key in BOOL_KEYS and not isinstance(value, bool):
        return f"{key!r} must be true or false, not {value!r}"
    if key in INT_KEYS and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{key!r} must be an integer, not {value!r}"
    if key in LIST_KEYS and not isinstance(value, list):
        return f"{key!r} must be a list"
    if key in DICT_KEYS and not isinstance(value, dict):
        return f"{key!r} must be an object"
    if key in ENUM_KEYS and value not in ENUM_KEYS[key]:
        return f"{key!r} must be one of {', '.join(ENUM_KEYS[key])}, not {value!r}"
    if key == "labels" and any(not isinstance(v, str) or "=" not in v for v in value):
        return 'labels must be "key=value" strings'
    if key == "log-opts" and any(not isinstance(v, str) for v in value.values()):
        return 'log-opts values must be strings (e.g. "max-file": "3")'
    return None


__all__ = [
    "KNOWN_KEYS",
    "RELOADABLE",
    "INFO_FIELDS",
    "KeyInfo",
    "key_info",
    "known_keys",
    "unknown_keys",
    "check_value",
]
