"""What a committed step tells the world: service events, alerts, fault reports.

A *service up/down* is written into the store with the ``notify-up``/``notify-down`` step
itself (``events/<group>/<seq>``, in the same transaction), so it exists exactly when
the spec says it was sent; the receiving groups' owners deliver it to their hooks
(:mod:`crg.runtime.courier`). The last-node alert is delivered by the node that raised
it, right after the ``alert`` step committed: once per episode, because the spec's
``alert`` step happens once per episode.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from crg.runtime.commit import ExtraFor, Outcome, Services
from crg.runtime.drivers.sinks import deliver, iso_time
from crg.runtime.records import Extra, dumps, read_group
from crg.runtime.store.base import Put, Snapshot
from crg.spec import Action, ActionKind, Model, State
from crg.spec.present.modes import node_status, placement_of
from crg.spec.rules.placement import moving, placement

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

KEEP_EVENTS = 16
"""Service events kept per group in the store for receivers that lag or have no owner."""


def service_reason(model: Model, before: State, after: State, g: int) -> str:
    """Why a service goes up or down, in an operator's words (descriptive only)."""
    names = model.topology.nodes
    gv = model.group_vars(before, g)
    if model.group_vars(after, g).announced:
        p = placement_of(model, after, g)
        return f"{p.mode.value} mode on {p.node}"
    if gv.failed:
        return "the application failed"
    if gv.offline:
        return "put in offline mode by an operator"
    view = model.view(before, g)
    if moving(view):
        where = placement(view)
        owner = names[gv.owner - 1]
        if (model.node_vars(before).drained >> (gv.owner - 1)) & 1:
            return f"{owner} is drained"
        return f"moving to {names[where - 1]}" if where else "no node can host it"
    if gv.owner and gv.owner - 1 != model.groups[g].preferred and not model.groups[g].failover:
        return "offline mode: the instance runs only on its preferred node"
    return "the service stopped"


def alert_reason(model: Model, state: State, g: int) -> str:
    topo = model.groups[g]
    names = model.topology.nodes
    gv = model.group_vars(state, g)
    owner = names[gv.owner - 1]
    listed = ", ".join(names[c] for c in topo.candidates)
    where = (f"runs on {owner}" if placement_of(model, state, g).app == "up"
             else f"holds its VIP on {owner}")
    return (f"{topo.name} {where}, the last available node of its list ({listed}); "
            "switching is disabled")


def blocked_reason(model: Model, state: State, g: int) -> str:
    topo = model.groups[g]
    names = model.topology.nodes
    gv = model.group_vars(state, g)
    status = node_status(model, state)
    others = [f"{names[c]} {'banned' if (gv.ban >> c) & 1 else status[names[c]]}"
              for c in topo.candidates if c != gv.owner - 1]
    return (f"{topo.name} cannot run anywhere: its restart budget is spent on "
            f"{names[gv.owner - 1]}" + (f" and no other node can take it ({', '.join(others)})"
                                        if others else "")
            + "; its VIP stays there and the application is stopped until "
            f"'crg cleanup {topo.name}', the restart window or a node's return")


def extra_for(services: Services, action: Action, node: str, reason: str) -> ExtraFor:
    model, keys = services.model, services.keys

    def extra(snap: Snapshot, before: State, after: State) -> tuple[Extra, dict[str, Any]]:
        if action.group < 0:
            return Extra(), {}
        group = model.groups[action.group]
        vip = services.config.group(group.name).vip.address
        common = {"cluster": services.config.cluster.name, "group": group.name,
                  "node": node, "vip": vip}
        if action.kind in (ActionKind.NOTIFY_UP, ActionKind.NOTIFY_DOWN):
            seq = read_group(snap, keys, group.name)["events"] + 1
            payload = {"event": "service-up" if action.kind is ActionKind.NOTIFY_UP
                       else "service-down", **common, "seq": seq, "time": iso_time(),
                       "reason": service_reason(model, before, after, action.group),
                       "recipients": list(group.subscribers)}
            deletes = (keys.event(group.name, seq - KEEP_EVENTS),) if seq > KEEP_EVENTS else ()
            return (Extra({group.name: {"events": seq}},
                          (Put(keys.event(group.name, seq), dumps(payload)),), deletes),
                    payload)
        if action.kind is ActionKind.FAULT:
            return (Extra({group.name: {"fault_time": time.time()}}),
                    {"event": "fault", **common, "reason": reason})
        if action.kind is ActionKind.ALERT:
            return Extra(), {"event": "alert", **common, "time": iso_time(),
                             "reason": alert_reason(model, before, action.group)}
        if action.kind is ActionKind.ALERT_BLOCKED:
            return Extra(), {"event": "blocked", **common, "time": iso_time(),
                             "reason": blocked_reason(model, before, action.group)}
        if action.kind is ActionKind.FORGIVE:
            return Extra(), {"event": "forgive", **common, "reason": reason}
        return Extra(), {}

    return extra


def report_after(agent: Machine, action: Action, outcome: Outcome, reason: str) -> None:
    """Effects of a committed step that cannot be undone, so they come after it."""
    payload = outcome.payload
    if not payload:
        return
    agent.s.events.emit(payload)
    if action.kind in (ActionKind.ALERT, ActionKind.ALERT_BLOCKED):
        group = agent.groups[payload["group"]]
        values = agent.values(group.name)
        for sink in group.alerts:
            agent.spawn(_alert(agent, sink, payload, values))


async def _alert(agent: Machine, sink: Any, payload: dict[str, Any],
                 values: dict[str, str]) -> None:
    fields = {k: v for k, v in payload.items() if k != "recipients"}
    ok, detail = await deliver(sink, fields, values, agent.supervisor)
    if not ok:
        log.warning("%s: alert of %s not delivered: %s", agent.name, payload["group"], detail)
    agent.s.events.emit({"event": "alert-delivered" if ok else "alert-failed",
                         "group": payload["group"], "node": agent.name,
                         "sink": sink.kind.value, "detail": detail})
