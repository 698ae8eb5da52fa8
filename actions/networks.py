"""Network actions: create, connect, disconnect, remove, each as a plan first.

``plan_create``/``plan_connect``/``plan_disconnect``/``plan_remove`` check the
read-only switch, validate against what the engine and the host kernel say
(nothing is sent to the engine on invalid input: a
:class:`~actions.validate.ValidationFailed` lists the :class:`FieldError`\\ s)
and return an :class:`~actions.plan.Plan`: what will change, the equivalent
``docker`` command, how to undo it. The fronts confirm the plan, then
:func:`actions.plan.execute` runs it and returns an
:class:`~actions.validate.ActionResult` whose ``undo_plan`` plans the reverse
(validated again: undo never recreates what validation refuses). The engine's
own refusal is raised as :class:`~actions.validate.EngineRefused` verbatim.

``create_network``/``connect``/``disconnect``/``remove_network`` plan and run
in one call, for callers that confirmed already (scripts with ``--yes``).
``client`` is the engine's ``docker.DockerClient``; the SDK is imported lazily.
"""

from __future__ import annotations

from actions.net_checks import (  # noqa: F401 - re-exported: the one place callers import from
    BRIDGE_NAME_OPT,
    DEFAULT_BRIDGE_OPT,
    DRIVERS,
    PREDEFINED,
    ConnectContext,
    ConnectSpec,
    ContainerRef,
    CreateContext,
    HostRoute,
    NetworkSpec,
    _api_error,
    connect_command,
    create_command,
    effective_parent,
    existing_bridge_warning,
    gather_connect_context,
    gather_create_context,
    is_user_defined,
    read_host_links,
    read_host_routes,
    spec_options,
    validate_connect,
    validate_create,
    validate_disconnect,
)
from actions.plan import Plan, execute, refuse_if_read_only
from actions.validate import (
    ActionError,
    ActionResult,
    EngineRefused,
    FieldError,
    ValidationFailed,
    cli,
    engine_message,
    split_words,
)

# --------------------------------------------------------------------------- create


def plan_create(client, spec: NetworkSpec, context: CreateContext | None = None) -> Plan:
    name = spec.name.strip()
    refuse_if_read_only(f"create network {name!r}")
    command = create_command(spec)
    if context is None:
        context = gather_create_context(client)
    errors = validate_create(spec, context)
    if errors:
        raise ValidationFailed(errors, command)
    warnings = list(context.notes)
    attach = existing_bridge_warning(spec, context) if context.local else None
    if attach:
        warnings.append(attach)
    what = f"create network {name} ({spec.driver}" + (
        f", {spec.subnet.strip()}" if spec.subnet.strip() else ", subnet chosen by the engine"
    )
    return Plan(
        action="network create",
        title=f"Create network {name}?",
        changes=[what + ")"],
        command=command,
        undo=f"remove network {name}",
        undo_command=cli("docker", "network", "rm", name),
        reversible=True,
        warnings=warnings,
        danger=bool(attach),
        run=lambda: _do_create(client, spec, command),
    )


def _do_create(client, spec: NetworkSpec, command: str) -> ActionResult:
    from docker.types import IPAMConfig, IPAMPool

    opts, labels, _ = spec_options(spec)
    parent = effective_parent(spec, opts)
    if parent:
        opts["parent"] = parent
    pools = []
    if spec.subnet.strip():
        pools.append(
            IPAMPool(
                subnet=spec.subnet.strip(),
                gateway=spec.gateway.strip() or None,
                iprange=spec.ip_range.strip() or None,
            )
        )
    if spec.ipv6 and spec.subnet_v6.strip():
        pools.append(IPAMPool(subnet=spec.subnet_v6.strip()))
    name = spec.name.strip()
    try:
        net = client.networks.create(
            name,
            driver=spec.driver,
            options=opts or None,
            ipam=IPAMConfig(pool_configs=pools) if pools else None,
            check_duplicate=True,
            internal=bool(spec.internal),
            labels=labels or None,
            enable_ipv6=bool(spec.ipv6),
            attachable=bool(spec.attachable),
        )
    except _api_error() as e:
        raise EngineRefused(engine_message(e), command, getattr(e, "status_code", None))
    try:
        net.reload()
        attrs = net.attrs
    except Exception:
        attrs = {"Id": net.id, "IPAM": {"Config": []}}
    subnets = [
        c.get("Subnet") for c in ((attrs.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")
    ]
    what = (
        f"created network {name} ({spec.driver}"
        + (f", {', '.join(subnets)}" if subnets else "")
        + ")"
    )
    return _result(
        "network create",
        name,
        [what],
        command,
        f"remove network {name}",
        cli("docker", "network", "rm", name),
        lambda c=None: plan_remove(c or client, name),
        details={"id": net.id, "subnets": subnets},
    )


def create_network(client, spec: NetworkSpec, context: CreateContext | None = None) -> ActionResult:
    """Plan and run (the caller confirmed already)."""
    return execute(plan_create(client, spec, context))


def _result(action, target, changed, command, undo_desc, undo_cmd, undo_plan, **kw) -> ActionResult:
    return ActionResult(
        action=action,
        target=target,
        changed=changed,
        command=command,
        undo_description=undo_desc,
        undo_command=undo_cmd,
        undo=(lambda c=None: execute(undo_plan(c))) if undo_plan else None,
        undo_plan=undo_plan,
        **kw,
    )


# --------------------------------------------------------------------------- connect


def plan_connect(
    client,
    network: str,
    container: str,
    aliases: list[str] | str | None = None,
    ipv4: str | None = None,
    fallback_without_ip: bool = False,
) -> Plan:
    if isinstance(aliases, str):
        aliases = split_words(aliases)
    aliases = [a.strip() for a in (aliases or []) if a and a.strip()]
    ipv4 = (ipv4 or "").strip() or None
    command = connect_command(network, container, aliases, ipv4)
    refuse_if_read_only(f"connect {container} to {network}")
    ctx = gather_connect_context(client, network, container)
    spec = ConnectSpec(network=network, container=container, aliases=aliases, ipv4=ipv4 or "")
    errors = validate_connect(spec, ctx)
    if errors:
        raise ValidationFailed(errors, command)
    net, ctr = ctx.networks[0], ctx.containers[0]
    what = f"connect {ctr.name} to {net.name}" + (f" as {ipv4}" if ipv4 else "")
    if aliases:
        what += f" (aliases: {', '.join(aliases)})"
    warnings = []
    if fallback_without_ip and ipv4:
        warnings.append(
            f"if {ipv4} cannot be pinned, it reconnects with an address the engine picks"
        )
    return Plan(
        action="network connect",
        title=f"Connect {ctr.name} to {net.name}?",
        changes=[what],
        command=command,
        undo=f"disconnect {ctr.name} from {net.name}",
        undo_command=cli("docker", "network", "disconnect", net.name, ctr.name),
        reversible=True,
        warnings=warnings,
        run=lambda: _do_connect(client, net, ctr, aliases, ipv4, command, fallback_without_ip),
    )


def _do_connect(client, net, ctr, aliases, ipv4, command, fallback) -> ActionResult:
    warnings = []
    try:
        client.api.connect_container_to_network(
            ctr.id, net.id, aliases=aliases or None, ipv4_address=ipv4
        )
    except _api_error() as e:
        if not (fallback and ipv4):
            raise EngineRefused(engine_message(e), command, getattr(e, "status_code", None))
        # a dynamic IP on a network without a user-configured subnet cannot be pinned
        warnings.append(f"could not reuse {ipv4}: {engine_message(e)}")
        command = connect_command(net.name, ctr.name, aliases, None)
        try:
            client.api.connect_container_to_network(ctr.id, net.id, aliases=aliases or None)
        except _api_error() as e2:
            raise EngineRefused(engine_message(e2), command, getattr(e2, "status_code", None))
    ep = _endpoint_of(client, ctr.id, net.name)
    what = f"connected {ctr.name} to {net.name}"
    if ep.get("IPAddress"):
        what += f" as {ep['IPAddress']}"
    if aliases:
        what += f" (aliases: {', '.join(aliases)})"
    res = _result(
        "network connect",
        f"{net.name}/{ctr.name}",
        [what],
        command,
        f"disconnect {ctr.name} from {net.name}",
        cli("docker", "network", "disconnect", net.name, ctr.name),
        lambda c=None: plan_disconnect(c or client, net.name, ctr.name),
        details={
            "network": net.name,
            "network_id": net.id,
            "container": ctr.name,
            "container_id": ctr.id,
            "ipv4": ep.get("IPAddress") or None,
            "aliases": _user_aliases(ep, ctr.id),
        },
    )
    res.warnings += warnings
    return res


def connect(
    client, network: str, container: str, aliases: list[str] | None = None, ipv4: str | None = None
) -> ActionResult:
    """Plan and run (the caller confirmed already)."""
    return execute(plan_connect(client, network, container, aliases, ipv4))


def _endpoint_of(client, container_id: str, network_name: str) -> dict:
    try:
        attrs = client.api.inspect_container(container_id)
    except Exception:
        return {}
    return ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).get(network_name) or {}


def _user_aliases(ep: dict, container_id: str) -> list[str]:
    """Aliases the user gave (docker adds the short container id itself)."""
    return [a for a in (ep.get("Aliases") or []) if a != container_id[:12]]


# --------------------------------------------------------------------------- disconnect


def plan_disconnect(client, network: str, container: str, force: bool = False) -> Plan:
    command = cli("docker", "network", "disconnect", "-f" if force else None, network, container)
    refuse_if_read_only(f"disconnect {container} from {network}")
    ctx = gather_connect_context(client, network, container)
    errors = validate_disconnect(network, container, ctx)
    if errors:
        raise ValidationFailed(errors, command)
    net, ctr = ctx.networks[0], ctx.containers[0]
    ep = _endpoint_of(client, ctr.id, net.name)
    fixed_ip = ((ep.get("IPAMConfig") or {}).get("IPv4Address")) or None
    ip = ep.get("IPAddress") or None
    aliases = _user_aliases(ep, ctr.id)
    reuse_ip = fixed_ip or (ip if is_user_defined(net) else None)
    undo = (
        f"reconnect {ctr.name} to {net.name}"
        + (f" with {reuse_ip}" if reuse_ip else "")
        + (f" and aliases {', '.join(aliases)}" if aliases else "")
    )
    warnings = []
    if not reuse_ip and ip:
        warnings.append(f"{ip} is not pinned: a reconnect may get another address")
    return Plan(
        action="network disconnect",
        title=f"Disconnect {ctr.name} from {net.name}?",
        changes=[f"disconnect {ctr.name} from {net.name}" + (f" (now {ip})" if ip else "")],
        command=command,
        undo=undo,
        undo_command=connect_command(net.name, ctr.name, aliases, reuse_ip),
        reversible=True,
        warnings=warnings,
        run=lambda: _do_disconnect(
            client, net, ctr, force, command, ip, fixed_ip, reuse_ip, aliases, undo
        ),
    )


def _do_disconnect(client, net, ctr, force, command, ip, fixed_ip, reuse_ip, aliases, undo):
    try:
        client.api.disconnect_container_from_network(ctr.id, net.id, force=force)
    except _api_error() as e:
        raise EngineRefused(engine_message(e), command, getattr(e, "status_code", None))
    what = f"disconnected {ctr.name} from {net.name}" + (f" (was {ip})" if ip else "")
    return _result(
        "network disconnect",
        f"{net.name}/{ctr.name}",
        [what],
        command,
        undo,
        connect_command(net.name, ctr.name, aliases, reuse_ip),
        lambda c=None: plan_connect(
            c or client,
            net.name,
            ctr.name,
            aliases=aliases,
            ipv4=reuse_ip,
            fallback_without_ip=bool(reuse_ip and not fixed_ip),
        ),
        details={
            "network": net.name,
            "container": ctr.name,
            "ipv4": ip,
            "fixed_ipv4": fixed_ip,
            "aliases": aliases,
        },
    )


def disconnect(client, network: str, container: str, force: bool = False) -> ActionResult:
    """Plan and run (the caller confirmed already)."""
    return execute(plan_disconnect(client, network, container, force))


# --------------------------------------------------------------------------- remove


class HasEndpoints(ActionError):
    """remove_network refused: the network still has endpoints (use force)."""

    def __init__(self, network: str, endpoints: list[dict], command: str):
        self.network = network
        self.endpoints = endpoints
        listing = ", ".join(
            f"{e['container']}" + (f" ({e['ipv4']})" if e.get("ipv4") else "") for e in endpoints
        )
        super().__init__(
            "network has endpoints",
            f"network {network} has {len(endpoints)} endpoint(s): {listing}; "
            "disconnect them first, or force (disconnects them, then removes)",
            command,
        )


def _spec_from_inspect(attrs: dict) -> NetworkSpec:
    cfg = (attrs.get("IPAM") or {}).get("Config") or []
    v4 = next((c for c in cfg if ":" not in (c.get("Subnet") or "")), {})
    v6 = next((c for c in cfg if ":" in (c.get("Subnet") or "")), {})
    opts = {
        k: v
        for k, v in (attrs.get("Options") or {}).items()
        if not k.startswith("com.docker.network.driver.overlay.vxlanid")
    }
    return NetworkSpec(
        name=attrs.get("Name", ""),
        driver=attrs.get("Driver", "bridge"),
        subnet=v4.get("Subnet", ""),
        gateway=v4.get("Gateway", ""),
        ip_range=v4.get("IPRange", ""),
        ipv6=bool(attrs.get("EnableIPv6")),
        subnet_v6=v6.get("Subnet", ""),
        internal=bool(attrs.get("Internal")),
        attachable=bool(attrs.get("Attachable")),
        options=[f"{k}={v}" for k, v in opts.items()],
        labels=[f"{k}={v}" for k, v in (attrs.get("Labels") or {}).items()],
    )


def plan_remove(client, network: str, force: bool = False) -> Plan:
    """Remove a network; with endpoints, refuse (listing them) unless ``force``."""
    from docker.errors import NotFound

    command = cli("docker", "network", "rm", network)
    refuse_if_read_only(f"remove network {network}")
    try:
        attrs = client.api.inspect_network(network)
    except NotFound:
        raise ValidationFailed([FieldError("network", f"no such network: {network}")], command)
    name, net_id = attrs.get("Name", network), attrs.get("Id", network)
    if name in PREDEFINED or (attrs.get("Options") or {}).get(DEFAULT_BRIDGE_OPT) == "true":
        raise ValidationFailed(
            [FieldError("network", f"{name} is a pre-defined network and cannot be removed")],
            command,
        )
    endpoints = []
    for cid, ep in (attrs.get("Containers") or {}).items():
        if cid.startswith("lb-"):  # overlay load-balancer endpoint, not a container
            continue
        endpoints.append(
            {
                "container": (ep.get("Name") or cid[:12]).lstrip("/"),
                "id": cid,
                "ipv4": (ep.get("IPv4Address") or "").split("/")[0] or None,
            }
        )
    endpoints.sort(key=lambda e: e["container"])
    if endpoints and not force:
        raise HasEndpoints(name, endpoints, command)
    spec = _spec_from_inspect(attrs)
    changes = [
        f"disconnect {e['container']} from {name}" + (f" (now {e['ipv4']})" if e["ipv4"] else "")
        for e in endpoints
    ] + [f"remove network {name}"]
    commands = [
        cli("docker", "network", "disconnect", "-f", name, e["container"]) for e in endpoints
    ]
    warnings = []
    bname = (attrs.get("Options") or {}).get(BRIDGE_NAME_OPT)
    if bname:
        warnings.append(
            f"the network uses the Linux bridge {bname}: Docker deletes it if Docker created "
            "it; a bridge that existed before is left, still holding the network's gateway address"
        )
    if endpoints:
        warnings.append(f"{len(endpoints)} container(s) lose their address on {name}")
    return Plan(
        action="network rm",
        title=f"Remove network {name}?",
        changes=changes,
        command=" && ".join(commands + [command]),
        undo=f"recreate network {name}" + (" and reconnect its containers" if endpoints else ""),
        undo_command=create_command(spec),
        reversible=True,
        warnings=warnings,
        danger=bool(endpoints or bname),
        run=lambda: _do_remove(client, name, net_id, endpoints, spec, command),
    )


def _do_remove(client, name, net_id, endpoints, spec, command) -> ActionResult:
    changed, commands, reconnect = [], [], []
    for e in endpoints:
        ep = _endpoint_of(client, e["id"], name)
        fixed = ((ep.get("IPAMConfig") or {}).get("IPv4Address")) or None
        refuse_if_read_only(f"disconnect {e['container']} from {name}")
        try:
            client.api.disconnect_container_from_network(e["id"], net_id, force=True)
        except _api_error() as ex:
            raise EngineRefused(
                engine_message(ex),
                cli("docker", "network", "disconnect", "-f", name, e["container"]),
            )
        reconnect.append((e["container"], _user_aliases(ep, e["id"]), fixed))
        changed.append(
            f"disconnected {e['container']} from {name}"
            + (f" (was {e['ipv4']})" if e.get("ipv4") else "")
        )
        commands.append(cli("docker", "network", "disconnect", "-f", name, e["container"]))
    try:
        client.api.remove_network(net_id)
    except _api_error() as ex:
        raise EngineRefused(engine_message(ex), command, getattr(ex, "status_code", None))
    changed.append(f"removed network {name}")
    commands.append(command)
    return _result(
        "network rm",
        name,
        changed,
        " && ".join(commands),
        f"recreate network {name}" + (" and reconnect its containers" if reconnect else ""),
        create_command(spec),
        lambda c=None: plan_recreate(c or client, spec, reconnect),
        details={"id": net_id, "disconnected": [e["container"] for e in endpoints]},
    )


def plan_recreate(client, spec: NetworkSpec, reconnect: list[tuple]) -> Plan:
    """Undo of a remove: the create plan (validated like any create), then reconnects."""
    plan = plan_create(client, spec)
    name = spec.name
    plan.title = f"Recreate network {name}" + (
        " and reconnect its containers?" if reconnect else "?"
    )
    plan.changes += [
        f"connect {ctr} to {name}" + (f" as {fixed}" if fixed else "")
        for ctr, _, fixed in reconnect
    ]
    create_run = plan.run

    def run() -> ActionResult:
        res = create_run()
        for ctr, aliases, fixed in reconnect:
            r = execute(plan_connect(client, name, ctr, aliases=aliases, ipv4=fixed))
            res.changed += r.changed
        return res

    plan.run = run
    return plan


def remove_network(client, network: str, force: bool = False) -> ActionResult:
    """Plan and run (the caller confirmed already)."""
    return execute(plan_remove(client, network, force))


__all__ = [
    "DRIVERS",
    "NetworkSpec",
    "ConnectSpec",
    "CreateContext",
    "ConnectContext",
    "ContainerRef",
    "HostRoute",
    "HasEndpoints",
    "gather_create_context",
    "gather_connect_context",
    "validate_create",
    "validate_connect",
    "validate_disconnect",
    "create_command",
    "connect_command",
    "plan_create",
    "plan_connect",
    "plan_disconnect",
    "plan_remove",
    "plan_recreate",
    "create_network",
    "connect",
    "disconnect",
    "remove_network",
    "read_host_links",
    "read_host_routes",
    "is_user_defined",
]
