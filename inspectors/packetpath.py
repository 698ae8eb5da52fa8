"""From the outside in: host:PORT -> listener (docker-proxy, dockerd or
iptables only) -> DNAT -> FORWARD (each chain's verdict) -> the container's
listener. ``probe`` makes a real connection and reports which rule counters
moved and which conntrack entry appeared.

Never imports Textual.
"""

from __future__ import annotations

import errno
import socket
import time
from dataclasses import dataclass, field


def tcp_probe(
    ip: str, port: int, timeout: float = 2.0, netns: str | None = None
) -> tuple[bool, str | None]:
    """A TCP connect to ``ip:port`` (from inside ``netns`` when given, else from
    this host). Returns (connected, error)."""

    def go():
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            return True, None
        except TimeoutError:
            return False, f"no answer within {timeout:g}s (dropped?)"
        except OSError as e:
            return False, errno.errorcode.get(e.errno or 0, "") + f" {e.strerror or e}"
        finally:
            s.close()

    if netns is None:
        return go()
    from inspectors.hostfacts import run_in_netns

    return run_in_netns(netns, go, timeout=timeout + 5)


@dataclass
class Hop:
    what: str  # listener | dnat | chain | policy | masquerade | container-listener
    status: str  # ok | fail | warn | info | skip
    text: str
    detail: list[str] = field(default_factory=list)


__all__ = ["tcp_probe", "Hop"]
_ = time
