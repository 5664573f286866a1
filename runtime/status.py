"""What ``crg status`` shows: the spec's reading of the current state (the same words as
``crg simulate``: :func:`crg.spec.present.modes.placements`), plus a few physical details."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crg.dsl.model import Config
from crg.runtime.address.base import AddressDriver
from crg.runtime.address.ledger import LedgerDriver
from crg.runtime.agreement import live_configs
from crg.runtime.fingerprint import short
from crg.runtime.records import Keys
from crg.runtime.store.base import Snapshot
from crg.spec import Model, State
from crg.spec.present.modes import node_status, placements

if TYPE_CHECKING:
    from crg.runtime.agent import Agent

STATUS_VERSION = 1


def status_of(config: Config, model: Model, state: State, revision: int, *, mode: str,
              address: AddressDriver | None, agents: Mapping[str, Agent],
              sinks: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``address``: the driver that knows every node's VIPs (the embedded runtime's);
    None where it knows only this host's: the spec's reading is shown then. ``sinks``:
    the health of the runtime's outputs (:meth:`crg.runtime.health.Board.status`). The
    configuration's fingerprints and the HTTP endpoints are added by the runtime
    (:func:`config_status`)."""
    groups = []
    for name, p in placements(model, state).items():
        group = config.group(name)
        holder = address.holder(group.vip) if isinstance(address, LedgerDriver) else None
        pid = None
        if p.node is not None and p.node in agents:
            instance = agents[p.node].machine.supervisor.instances.get(name)
            if instance is not None and instance.running:
                pid = instance.pgid
        # ``vip`` is the node the spec says holds the VIP; ``vip_holder`` what the
        # address driver says (they differ only while a step is under way).
        groups.append({"group": name, **p.as_dict(), "address": group.vip.address,
                       "vip_holder": holder if isinstance(address, LedgerDriver) else p.vip,
                       "target": p.target, "watchdogs": list(p.watchdogs), "pid": pid})
    return {"version": STATUS_VERSION, "cluster": config.cluster.name, "mode": mode,
            "revision": revision, "nodes": node_status(model, state), "groups": groups,
            "sinks": [dict(s) for s in sinks]}


def config_status(snap: Snapshot, keys: Keys, sha256: str,
                  http: Mapping[str, str | None]) -> dict[str, Any]:
    """What ``crg status`` adds to the spec's reading: the fingerprint of the
    configuration this runtime runs, the one each live node published (they differ only
    when something went wrong: README, "One configuration"), and the HTTP endpoints."""
    out: dict[str, Any] = {"config_sha256": sha256,
                           "node_configs": live_configs(snap, keys)}
    if http:
        out["http"] = dict(http)
    return out


HEADERS = ("group", "node", "mode", "vip", "held by", "app", "switching", "alert")


def rows(status: Mapping[str, Any]) -> list[list[str]]:
    out = []
    for g in status["groups"]:
        out.append([g["group"], g["node"] or "-", g["mode"], g["address"],
                    g["vip_holder"] or "-",
                    g["app"], "enabled" if g["switching"] else "disabled",
                    _alerts(g)])
    return out


def _alerts(group: Mapping[str, Any]) -> str:
    raised = [name for name, flag in (("last node", "alerted"), ("blocked", "blocked_alerted"))
              if group.get(flag)]
    return ", ".join(raised) or "-"


def title(status: Mapping[str, Any]) -> str:
    """``cluster shop (embedded)``; one node of several hosts: ``cluster shop (node n1)``,
    or ``(node n1, starting)`` while its agent does not run yet."""
    where = str(status["mode"])
    if status.get("node"):
        where += f" {status['node']}"
        if status.get("agent") == "starting":
            where += ", starting"
    return f"cluster {status['cluster']} ({where})"


def nodes_line(status: Mapping[str, Any]) -> str:
    return "nodes: " + ", ".join(f"{n} {s}" for n, s in status["nodes"].items())


def sink_lines(status: Mapping[str, Any]) -> list[str]:
    """One line per output of the runtime that fails (none when all work): ``events
    /var/log/crg/events.jsonl failing since 12:00:01: No space left on device (12 lines
    waiting, 0 dropped)``."""
    lines = []
    for sink in status.get("sinks", ()):
        if sink.get("state") != "failing":
            continue
        since = sink.get("since")
        when = time.strftime(" since %H:%M:%S", time.localtime(since)) if since else ""
        lines.append(f"{sink['sink']} {sink['target']} failing{when}: {sink['reason']} "
                     f"({sink['pending']} lines waiting, {sink['dropped']} dropped)")
    return lines


def config_line(status: Mapping[str, Any]) -> str | None:
    """``config 71e07cd97595`` (the fingerprint, short), naming any live node that runs
    another configuration; None for a runtime that does not say."""
    sha = status.get("config_sha256")
    if not sha:
        return None
    line = f"config {short(sha)}"
    others = {n: c for n, c in (status.get("node_configs") or {}).items() if c != sha}
    if others:
        line += "; DIFFERENT on " + ", ".join(
            f"{n} ({short(c) if c else 'not published'})" for n, c in sorted(others.items()))
    http = status.get("http")
    if http:
        line += "; http " + ", ".join(f"{n} {a or '-'}" for n, a in http.items())
    return line
