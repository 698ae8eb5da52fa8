"""The firewall on the packet path: iptables (legacy and nft) and Docker 29's
native nftables tables, read with their counters, walked for one packet.

* :func:`read_rulesets` runs ``iptables-legacy-save -c`` and ``iptables-nft-save -c``
  (both Debian alternatives; only root-owned binaries under /usr/sbin or /sbin)
  and ``nft -j list ruleset`` for the native ``docker-bridges`` tables, in the
  calling thread's network namespace.
* :func:`parse_save` turns ``iptables-save -c`` text into tables of :class:`Chain`
  with per-rule packet/byte counters; :func:`parse_iptables_save` and
  :func:`parse_dnat` are the older shapes the doctor's host facts use.
* :func:`walk` follows one packet (:class:`Packet`) through a built-in chain the
  way the kernel does (jumps, gotos, RETURN, the policy) and says which rule
  decided, with ``None`` for matches this evaluator does not understand.
* :mod:`inspectors.firewall_report` joins that to the model: per published
  port the DNAT rule, the FORWARD walk and MASQUERADE, per bridge network its
  rules, and the flags for what is missing or shadowed.

Why ``nft -j`` and not pyroute2's ``NFTSocket``: NFTSocket lists rules only as
raw VM expressions (payload offsets, registers, cmp bytes); decoding those into
matches is a disassembler nobody maintains here, and ``nft -j`` prints them
decoded, with counters. Why a hand-written iptables evaluator: no library walks
an iptables ruleset for a hypothetical packet.

Never imports Textual. Never changes a rule.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import stat
import subprocess
from dataclasses import dataclass, field

TRUSTED_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
BACKENDS = {"iptables-nft": "iptables-nft-save", "iptables-legacy": "iptables-legacy-save"}
BUILTIN = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}
TERMINAL = {"ACCEPT", "DROP", "REJECT", "DNAT", "SNAT", "MASQUERADE", "REDIRECT"}
DOCKER_CHAINS = ("DOCKER", "DOCKER-USER", "DOCKER-FORWARD", "DOCKER-ISOLATION-STAGE-1")

# --------------------------------------------------------------------------- model


@dataclass
class Rule:
    table: str
    chain: str
    index: int  # 1-based position in its chain (as `iptables -L --line-numbers`)
    spec: str  # the rule after "-A CHAIN " (iptables-save syntax) or nft text
    target: str | None = None  # ACCEPT, DROP, a chain name, DNAT, ...
    goto: bool = False  # -g (no return)
    packets: int | None = None
    bytes: int | None = None
    backend: str = ""

    @property
    def ref(self) -> str:
        """``filter DOCKER-USER #1``: how a finding names the rule."""
        return f"{self.table} {self.chain} #{self.index}"

    @property
    def line(self) -> str:
        return f"-A {self.chain} {self.spec}"


@dataclass
class Chain:
    table: str
    name: str
    policy: str | None = None  # ACCEPT/DROP for built-in chains, None for user chains
    packets: int | None = None  # policy counters
    bytes: int | None = None
    rules: list[Rule] = field(default_factory=list)
    hook: str | None = None  # nft: the hook of a base chain


@dataclass
class Ruleset:
    backend: str  # iptables-nft | iptables-legacy | nftables
    command: str | None = None
    available: bool = False
    error: str | None = None
    tables: dict[str, dict[str, Chain]] = field(default_factory=dict)

    def chain(self, table: str, name: str) -> Chain | None:
        return self.tables.get(table, {}).get(name)

    def has_docker(self) -> bool:
        return any(
            "DOCKER" in c or c.startswith("docker") or t.startswith("docker")
            for t, chains in self.tables.items()
            for c in chains
        ) or any(t.startswith("docker") for t in self.tables)

    def rules(self) -> list[Rule]:
        return [r for t in self.tables.values() for c in t.values() for r in c.rules]


@dataclass
class DnatRule:
    proto: str
    dport: int
    to_ip: str
    to_port: int | None
    dst: str | None = None  # -d (host address the rule is limited to)
    in_iface: str | None = None  # "! br-xxx" style kept as text
    chain: str = "DOCKER"
    line: str = ""


@dataclass
class Packet:
    """One hypothetical packet. ``None`` fields are unknown (any)."""

    proto: str = "tcp"
    src: str | None = None
    dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    in_iface: str | None = None
    out_iface: str | None = None
    ctstate: str = "NEW"
    dst_local: bool | None = None  # addrtype --dst-type LOCAL
    # in_iface unknown but known NOT to be one of these (the container bridges and
    # veths): an outside client. `! -i docker0` then matches; `-i eth0` stays unknown
    not_in: frozenset[str] = frozenset()


@dataclass
class Step:
    chain: str
    rule: Rule | None  # None: the chain's policy or its end
    action: str  # jump | goto | return | accept | drop | reject | dnat | policy | maybe | end
    note: str = ""


@dataclass
class Walk:
    table: str
    chain: str
    verdict: str  # ACCEPT | DROP | REJECT | DNAT | UNKNOWN
    steps: list[Step] = field(default_factory=list)
    decided_by: Rule | None = None
    maybe: list[Rule] = field(default_factory=list)  # rules whose match could not be evaluated

    def chains(self) -> list[str]:
        seen: list[str] = []
        for s in self.steps:
            if s.chain not in seen:
                seen.append(s.chain)
        return seen


# --------------------------------------------------------------------------- parsing

_COUNTER_RE = re.compile(r"^\[(\d+):(\d+)\]\s+")
_POLICY_RE = re.compile(r"^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?")


def _split(spec: str) -> list[str]:
    if "'" not in spec and '"' not in spec and "\\" not in spec:
        return spec.split()  # what shlex gives for a line without quotes, ~50x faster
    try:
        return shlex.split(spec)
    except ValueError:
        return spec.split()


def parse_save(text: str, backend: str = "") -> dict[str, dict[str, Chain]]:
    """``iptables-save [-c]`` text -> table -> chain -> :class:`Chain` (rules in order)."""
    tables: dict[str, dict[str, Chain]] = {}
    table = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            tables.setdefault(table, {})
            continue
        if table is None:
            continue
        if line.startswith(":"):
            m = _POLICY_RE.match(line)
            if m:
                pol = m.group(2)
                tables[table][m.group(1)] = Chain(
                    table,
                    m.group(1),
                    None if pol == "-" else pol,
                    int(m.group(3)) if m.group(3) else None,
                    int(m.group(4)) if m.group(4) else None,
                )
            continue
        pk = by = None
        m = _COUNTER_RE.match(line)
        if m:
            pk, by = int(m.group(1)), int(m.group(2))
            line = line[m.end() :]
        if not line.startswith("-A "):
            continue
        _, name, *rest = line.split(" ", 2)
        spec = rest[0] if rest else ""
        chain = tables[table].setdefault(name, Chain(table, name))
        toks = _split(spec)
        target, goto = None, False
        for i, t in enumerate(toks[:-1]):
            if t in ("-j", "--jump"):
                target = toks[i + 1]
            elif t in ("-g", "--goto"):
                target, goto = toks[i + 1], True
        chain.rules.append(
            Rule(table, name, len(chain.rules) + 1, spec, target, goto, pk, by, backend)
        )
    return tables


def parse_iptables_save(text: str) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """``iptables-save`` text -> (table -> chain -> policy ("-" for user chains),
    table -> ["-A ..." lines]) (the shape the doctor's host facts keep)."""
    tables = parse_save(text)
    chains = {t: {n: (c.policy or "-") for n, c in cs.items()} for t, cs in tables.items()}
    rules = {t: [r.line for c in cs.values() for r in c.rules] for t, cs in tables.items()}
    return chains, rules


def _opt(toks: list[str], name: str) -> str | None:
    try:
        i = toks.index(name)
    except ValueError:
        return None
    if i > 0 and toks[i - 1] == "!":
        return None
    return toks[i + 1] if i + 1 < len(toks) else None


def parse_dnat(rules: list[str]) -> list[DnatRule]:
    """The DNAT rules among ``-A ...`` lines."""
    out = []
    for line in rules:
        if "DNAT" not in line:  # most rules: no split at all
            continue
        toks = _split(line)
        if "DNAT" not in toks:
            continue
        dest = _opt(toks, "--to-destination")
        dport = _opt(toks, "--dport")
        if not dest or not dport:
            continue
        if dest.startswith("["):  # [v6]:port
            host, _, port = dest[1:].partition("]:")
        else:
            host, _, port = dest.rpartition(":") if dest.count(":") == 1 else (dest, "", "")
        try:
            dp = int(dport.split(":")[0])
        except ValueError:
            continue
        dst = _opt(toks, "-d")
        iif = None
        if "-i" in toks:
            i = toks.index("-i")
            neg = i > 0 and toks[i - 1] == "!"
            iif = ("! " if neg else "") + toks[i + 1] if i + 1 < len(toks) else None
        out.append(
            DnatRule(
                proto=_opt(toks, "-p") or "all",
                dport=dp,
                to_ip=host or dest,
                to_port=int(port) if port.isdigit() else None,
                dst=dst.split("/")[0] if dst else None,
                in_iface=iif,
                chain=toks[1] if len(toks) > 1 else "",
                line=line,
            )
        )
    return out


def dnat_of(rule: Rule) -> DnatRule | None:
    got = parse_dnat([rule.line])
    return got[0] if got else None


# --------------------------------------------------------------------------- nftables JSON


def _nft_expr_text(e: dict) -> str:  # a readable rendering of one nft JSON expression
    if not isinstance(e, dict) or not e:
        return str(e)
    k, v = next(iter(e.items()))
    if k == "match":
        left, right, op = v.get("left"), v.get("right"), v.get("op", "==")
        return f"{_nft_val(left)} {'' if op == '==' else op + ' '}{_nft_val(right)}".strip()
    if k in ("accept", "drop", "return", "continue"):
        return k
    if k in ("jump", "goto"):
        return f"{k} {v.get('target')}"
    if k == "counter":
        return ""
    if k in ("dnat", "snat"):
        addr, port = v.get("addr"), v.get("port")
        return f"{k} to {_nft_val(addr)}" + (f":{_nft_val(port)}" if port is not None else "")
    if k == "masquerade":
        return "masquerade"
    if k == "reject":
        return "reject"
    return f"{k} {json.dumps(v, separators=(',', ':'))}" if v is not None else k


def _nft_val(v) -> str:
    if isinstance(v, dict):
        if "payload" in v:
            p = v["payload"]
            return f"{p.get('protocol', '')} {p.get('field', '')}".strip()
        if "meta" in v:
            return f"meta {v['meta'].get('key')}"
        if "ct" in v:
            return f"ct {v['ct'].get('key')}"
        if "set" in v:
            return "{ " + ", ".join(_nft_val(x) for x in v["set"]) + " }"
        if "prefix" in v:
            return f"{v['prefix'].get('addr')}/{v['prefix'].get('len')}"
        if "range" in v:
            a, b = v["range"]
            return f"{a}-{b}"
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, list):
        return "{ " + ", ".join(_nft_val(x) for x in v) + " }"
    return str(v)


def parse_nft_json(text: str, only_docker: bool = True) -> dict[str, dict[str, Chain]]:
    """``nft -j list ruleset`` -> "family table" -> chain -> :class:`Chain`.
    ``only_docker``: keep Docker's native tables (``docker-bridges``...), not the
    ``ip filter``/``ip nat`` tables iptables-nft makes (read through iptables-nft-save)."""
    data = json.loads(text or "{}").get("nftables", [])
    tables: dict[str, dict[str, Chain]] = {}

    def keep(fam: str, name: str) -> bool:
        return not only_docker or "docker" in name.lower()

    for item in data:
        if "chain" in item:
            c = item["chain"]
            if not keep(c["family"], c["table"]):
                continue
            tname = f"{c['family']} {c['table']}"
            pol = c.get("policy")
            tables.setdefault(tname, {})[c["name"]] = Chain(
                tname, c["name"], pol.upper() if pol else None, hook=c.get("hook")
            )
        elif "rule" in item:
            r = item["rule"]
            if not keep(r["family"], r["table"]):
                continue
            tname = f"{r['family']} {r['table']}"
            chain = tables.setdefault(tname, {}).setdefault(r["chain"], Chain(tname, r["chain"]))
            exprs = r.get("expr") or []
            pk = by = None
            target, goto = None, False
            parts = []
            for e in exprs:
                if not isinstance(e, dict):
                    continue
                if "counter" in e and isinstance(e["counter"], dict):
                    pk, by = e["counter"].get("packets"), e["counter"].get("bytes")
                for verdict in ("accept", "drop", "reject", "return"):
                    if verdict in e:
                        target = verdict.upper()
                if "jump" in e or "goto" in e:
                    target = (e.get("jump") or e.get("goto") or {}).get("target")
                    goto = "goto" in e
                if "dnat" in e:
                    target = "DNAT"
                if "masquerade" in e:
                    target = "MASQUERADE"
                t = _nft_expr_text(e)
                if t:
                    parts.append(t)
            if r.get("comment"):
                parts.append(f'comment "{r["comment"]}"')
            chain.rules.append(
                Rule(
                    tname,
                    r["chain"],
                    len(chain.rules) + 1,
                    " ".join(parts),
                    target,
                    goto,
                    pk,
                    by,
                    "nftables",
                )
            )
    return tables


# --------------------------------------------------------------------------- reading


def trusted_binary(name: str) -> str | None:
    """``name`` in a trusted system directory, root-owned and not group/world
    writable (symlinks resolved, the target checked too). Never a path taken
    from another process."""
    for d in TRUSTED_DIRS:
        p = os.path.join(d, name)
        try:
            real = os.path.realpath(p)
            if not os.path.dirname(real).startswith(("/usr/", "/sbin", "/bin")):
                continue
            st = os.stat(real)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022:
            if os.access(real, os.X_OK):
                return p
    return None


def _run(cmd: list[str], timeout: float = 10.0) -> tuple[int, str, str]:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_ENV)
        return r.returncode, r.stdout, r.stderr
    except FileNotFoundError:
        return 127, "", f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, "", f"{cmd[0]}: timed out"


_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


def read_iptables_backend(backend: str, family: int = 4) -> Ruleset:
    """One iptables variant's ruleset with counters (``*-save -c``)."""
    name = BACKENDS[backend]
    if family == 6:
        name = name.replace("iptables", "ip6tables")
    rs = Ruleset(backend=backend)
    binary = trusted_binary(name)
    if binary is None:
        rs.error = f"{name} is not installed (or not a root-owned system binary)"
        return rs
    rs.command = f"{binary} -c"
    if os.geteuid() != 0:
        rs.error = "needs root to read iptables"
        return rs
    rc, out, err = _run([binary, "-c"])
    if rc != 0:
        rs.error = (err.strip() or f"{name} exited {rc}").splitlines()[-1]
        return rs
    rs.available = True
    rs.tables = parse_save(out, backend)
    return rs


def read_nftables() -> Ruleset:
    """Docker's native nftables tables (``firewall-backend: nftables``, Docker 29)."""
    rs = Ruleset(backend="nftables")
    binary = trusted_binary("nft")
    if binary is None:
        rs.error = "nft is not installed"
        return rs
    rs.command = f"{binary} -j list ruleset"
    if os.geteuid() != 0:
        rs.error = "needs root to read nftables"
        return rs
    rc, out, err = _run([binary, "-j", "list", "ruleset"])
    if rc != 0:
        rs.error = (err.strip() or f"nft exited {rc}").splitlines()[-1]
        return rs
    try:
        rs.tables = parse_nft_json(out)
    except (ValueError, KeyError, TypeError) as e:
        rs.error = f"nft -j output not understood: {e}"
        return rs
    rs.available = True
    return rs


def iptables_alternative() -> str | None:
    """Which variant ``/usr/sbin/iptables`` points at (what dockerd runs)."""
    for p in ("/usr/sbin/iptables", "/sbin/iptables"):
        try:
            real = os.path.basename(os.path.realpath(p))
        except OSError:
            continue
        if "legacy" in real:
            return "iptables-legacy"
        if "nft" in real:
            return "iptables-nft"
    return None


def read_rulesets(nft: bool = True) -> list[Ruleset]:
    """Both iptables variants and (``nft``) the native Docker nftables tables,
    in the calling thread's network namespace."""
    out = [read_iptables_backend("iptables-nft"), read_iptables_backend("iptables-legacy")]
    if nft:
        out.append(read_nftables())
    return out


def active_backend(rulesets: list[Ruleset], firewall_driver: str | None = None) -> str | None:
    """The backend that holds Docker's rules: the engine's word first
    (``info()['FirewallBackend']['Driver']``), then the ruleset with DOCKER chains,
    then the ``iptables`` alternative."""
    if firewall_driver == "nftables":
        return "nftables"
    have = [r.backend for r in rulesets if r.available and r.has_docker()]
    alt = iptables_alternative()
    if alt in have:
        return alt
    if have:
        return have[0]
    return alt


# --------------------------------------------------------------------------- evaluator


def _iface_match(pattern: str, iface: str | None) -> bool | None:
    if iface is None:
        return None
    if pattern.endswith("+"):
        return iface.startswith(pattern[:-1])
    return iface == pattern


def _iface_any(pattern: str, names: frozenset[str]) -> bool:
    if pattern.endswith("+"):
        return pattern in ("veth+", "docker+", "br-+") or any(
            n.startswith(pattern[:-1]) for n in names
        )
    return pattern in names or pattern.startswith(("veth", "br-", "docker"))


def _addr_match(cidr: str, addr: str | None) -> bool | None:
    if addr is None:
        return None
    try:
        return ipaddress.ip_address(addr) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _port_match(spec: str, port: int | None) -> bool | None:
    if port is None:
        return None
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        try:
            if int(lo or 0) <= port <= int(hi or lo or 65535):
                return True
        except ValueError:
            return None
    return False


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


_IGNORED_MODULES = {"comment", "tcp", "udp", "icmp", "conntrack", "state", "addrtype", "multiport"}


def match(rule: Rule, pkt: Packet) -> bool | None:
    """Does ``pkt`` match ``rule``? ``None``: depends on something unknown or
    a match this evaluator does not understand."""
    toks = _split(rule.spec)
    res: bool | None = True
    i = 0
    neg = False
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if t == "!":
            neg = True
            i += 1
            continue
        r: bool | None
        step = 2
        if t in ("-j", "--jump", "-g", "--goto"):
            break  # target options follow
        if t in ("-i", "--in-interface"):
            r = _iface_match(nxt, pkt.in_iface)
            if r is None and pkt.not_in and _iface_any(nxt, pkt.not_in):
                r = False
        elif t in ("-o", "--out-interface"):
            r = _iface_match(nxt, pkt.out_iface)
        elif t in ("-s", "--source"):
            r = _addr_match(nxt, pkt.src)
        elif t in ("-d", "--destination"):
            r = _addr_match(nxt, pkt.dst)
        elif t in ("-p", "--protocol"):
            r = None if pkt.proto is None else nxt.lower() in (pkt.proto, "all", "0")
        elif t in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            r = _port_match(nxt, pkt.dport)
        elif t in ("--sport", "--source-port", "--sports", "--source-ports"):
            r = _port_match(nxt, pkt.sport)
        elif t in ("--ctstate", "--state"):
            r = pkt.ctstate in nxt.split(",")
        elif t == "--dst-type":
            r = None if pkt.dst_local is None else (nxt == "LOCAL") == pkt.dst_local
            if nxt not in ("LOCAL",):
                r = None
        elif t in ("-m", "--match"):
            if nxt not in _IGNORED_MODULES:
                r = None  # a match module we do not evaluate (set, physdev, mark...)
            else:
                r = True
            neg = False
        elif t in ("--comment",):
            r = True
        else:
            r = None  # an option of a module we do not evaluate
            step = 1 if nxt.startswith("-") or not nxt else 2
        if neg and r is not None:
            r = not r
        neg = False
        res = _and(res, r)
        if res is False:
            return False
        i += step
    return res


def chain_summary(w: Walk) -> list[tuple[str, str, Rule | None]]:
    """Per chain visited, in order: (chain, what happened there, the rule that
    did it). What happened: the terminal target (ACCEPT, DROP...), RETURN,
    ``-> CHAIN`` (the jump the packet left by), or ``policy X``."""
    out = []
    for chain in w.chains():
        steps = [s for s in w.steps if s.chain == chain and s.action != "maybe"]
        dec = w.decided_by
        if dec is not None and dec.chain == chain:
            out.append((chain, dec.target or "", dec))
            continue
        pol = next((s for s in steps if s.action == "policy"), None)
        if pol is not None and dec is None:
            out.append((chain, f"policy {pol.note}", None))
            continue
        ret = next((s for s in steps if s.action == "return"), None)
        if ret is not None:
            out.append((chain, "RETURN", ret.rule))
            continue
        jumps = [s for s in steps if s.action in ("jump", "goto")]
        if jumps:
            out.append((chain, f"-> {jumps[-1].note}", jumps[-1].rule))
        else:
            out.append((chain, "no match", None))
    return out


def walk(rs: Ruleset, table: str, chain: str, pkt: Packet, max_depth: int = 32) -> Walk:
    """Follow ``pkt`` through ``table``/``chain`` (a built-in chain) and its jumps."""
    w = Walk(table=table, chain=chain, verdict="UNKNOWN")
    tables = rs.tables.get(table)
    if tables is None or chain not in tables:
        w.steps.append(Step(chain, None, "end", f"chain {table} {chain} does not exist"))
        return w

    def run(name: str, depth: int) -> str | None:
        """Returns a terminal verdict, or None to continue after the jump."""
        c = tables.get(name)
        if c is None:
            w.steps.append(Step(name, None, "end", "jump to a chain that does not exist"))
            return None
        for r in c.rules:
            m = match(r, pkt)
            if m is False:
                continue
            tgt = r.target
            if m is None:
                w.maybe.append(r)
                if tgt in ("DROP", "REJECT"):
                    w.steps.append(Step(name, r, "maybe", "may drop: a match was not evaluated"))
                else:
                    w.steps.append(Step(name, r, "maybe", "match not evaluated: assumed no match"))
                continue
            if tgt is None:
                continue  # counting rule
            if tgt in TERMINAL:
                w.steps.append(Step(name, r, tgt.lower()))
                w.decided_by = r
                return tgt
            if tgt == "RETURN":
                w.steps.append(Step(name, r, "return"))
                return None
            if tgt in tables:
                if depth >= max_depth:
                    w.steps.append(Step(name, r, "end", "jump depth exceeded"))
                    return "UNKNOWN"
                w.steps.append(Step(name, r, "goto" if r.goto else "jump", tgt))
                v = run(tgt, depth + 1)
                if v is not None or r.goto:
                    return v
                continue
            # LOG, MARK, CT ...: non-terminating
        w.steps.append(Step(name, None, "end", f"end of {name}"))
        return None

    v = run(chain, 0)
    if v is None:
        pol = tables[chain].policy or "ACCEPT"
        w.steps.append(Step(chain, None, "policy", pol))
        v = pol
    w.verdict = v
    return w


def counters(rs: Ruleset) -> dict[str, tuple[int, int]]:
    """Rule ref -> (packets, bytes), for deltas between two reads."""
    out = {}
    for r in rs.rules():
        if r.packets is not None:
            out[f"{r.ref} {r.spec}"] = (r.packets, r.bytes or 0)
    for t in rs.tables.values():
        for c in t.values():
            if c.policy and c.packets is not None:
                out[f"{c.table} {c.name} policy {c.policy}"] = (c.packets, c.bytes or 0)
    return out


def moved(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]):
    """[(key, d_packets, d_bytes)] for the counters that rose."""
    out = []
    for k, (p, b) in after.items():
        p0, b0 = before.get(k, (0, 0))
        if p > p0:
            out.append((k, p - p0, b - b0))
    return out


__all__ = [
    "Rule",
    "Chain",
    "Ruleset",
    "DnatRule",
    "Packet",
    "Walk",
    "Step",
    "parse_save",
    "parse_iptables_save",
    "parse_dnat",
    "dnat_of",
    "parse_nft_json",
    "read_rulesets",
    "read_iptables_backend",
    "read_nftables",
    "active_backend",
    "iptables_alternative",
    "trusted_binary",
    "match",
    "walk",
    "chain_summary",
    "counters",
    "moved",
]
