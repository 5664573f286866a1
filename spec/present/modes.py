"""Human-readable reading of states and actions: placements, modes, descriptions.

Shared by ``crg simulate``, the checker's traces and the runtime's ``crg status``, so that
the words an operator reads are the same everywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from crg.spec.model import Model, State
from crg.spec.rules.events import not_up
from crg.spec.rules.placement import blocked, switching_disabled
from crg.spec.rules.registry import KINDS
from crg.spec.rules.roles import app_wanted, runs_app
from crg.spec.rules.view import available, service_up
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.algebra import CONCRETE

ALERT_EVENTS = {ActionKind.ALERT: "alert", ActionKind.ALERT_BLOCKED: "blocked",
                ActionKind.ALERT_STRANDED: "stranded"}
"""The spec's alert steps, by the name of the notification each sends to the group's
alert sinks (``crg simulate``'s notifications, the runtime's events)."""


class Mode(enum.StrEnum):
    """Modes of a group (claims 4, 5): where it is and whether its application serves."""

    NORMAL = "normal"
    """On its preferred node, application up."""
    FAILOVER = "failover"
    """On a possible node, application up."""
    OFFLINE = "offline"
    """VIP held, application down by design (instance group away from its preferred node,
    or put offline by an operator): clients are refused at once."""
    BLOCKED = "blocked"
    """VIP held, application stopped because it cannot run anywhere: the restart budget is
    spent on the owner and no candidate is left within budget. Clients are refused at
    once; the blocked alert has gone out; a cleanup, the restart window or a returning
    node ends it."""
    DOWN = "down"
    """No candidate node is available (up and not drained): nothing holds the VIP."""
    MOVING = "moving"
    """Between states: the run or halt method is under way (never seen once settled)."""


@dataclass(frozen=True, slots=True)
class Placement:
    group: str
    node: str | None
    """The owner: the node hosting the group (None when nobody does)."""
    mode: Mode
    vip: str | None
    """The node the VIP is configured on (None if nowhere). Several nodes, which
    ``vip-unique`` forbids, are all named, comma-separated: a broken configuration's
    double holder must show wherever placements are printed."""
    app: str
    """``up`` | ``down`` | ``failed`` | ``starting`` | ``stopping``."""
    switching: bool
    """Switching between possible nodes is enabled (False on the last live node)."""
    alerted: bool
    """The last-node alert has been raised in this episode."""
    blocked_alerted: bool
    """The blocked alert has been raised in this episode."""
    stranded_alerted: bool
    """The stranded alert (no node of its list left) has been raised in this episode."""
    maintenance: bool
    """An operator put the group in maintenance: the cluster service leaves it alone."""
    announced: bool
    """The last service event sent was *up*."""
    target: str | None
    watchdogs: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node, "mode": self.mode.value, "vip": self.vip, "app": self.app,
            "switching": self.switching, "alerted": self.alerted,
            "blocked_alerted": self.blocked_alerted,
            "stranded_alerted": self.stranded_alerted, "maintenance": self.maintenance,
        }


def placement_of(model: Model, state: State, g: int) -> Placement:
    topo, nodes = model.groups[g], model.topology.nodes
    v = model.view(state, g)
    gv = v.g
    owner = gv.owner - 1 if gv.owner else None
    vip_nodes = [n for n in range(model.n_nodes) if (gv.vip >> n) & 1]
    app_nodes = [n for n in range(model.n_nodes) if (gv.app >> n) & 1]
    if owner is None:
        # drained candidates host nothing: with only those left the group is down
        mode = Mode.DOWN if not any(available(v, c) for c in topo.candidates) else Mode.MOVING
    elif service_up(v, owner) and runs_app(v, owner) and gv.announced:
        mode = Mode.NORMAL if owner == topo.preferred else Mode.FAILOVER
    elif (gv.vip >> owner) & 1 and not runs_app(v, owner) and not gv.app:
        mode = Mode.BLOCKED if blocked(v) and not gv.offline else Mode.OFFLINE
    else:
        mode = Mode.MOVING
    if gv.failed:
        app = "failed"
    elif owner is not None and service_up(v, owner):
        app = "up"
    # "Wanted" as the run method reads it: not during a halt before a move, nor on a node
    # cut off (it said "starting" of an application being stopped for a switchover); and
    # nothing starts in maintenance.
    elif (owner is not None and app_wanted(v, owner) and not gv.maintenance
          and not app_nodes):
        app = "starting" if (gv.vip >> owner) & 1 else "down"
    elif app_nodes and (owner is None or owner not in app_nodes or not app_wanted(v, owner)):
        app = "stopping"
    elif app_nodes:
        app = "starting"
    else:
        app = "down"
    return Placement(
        group=topo.name,
        node=nodes[owner] if owner is not None else None,
        mode=mode,
        vip=",".join(nodes[n] for n in vip_nodes) or None,
        app=app,
        switching=not switching_disabled(v),
        alerted=bool(gv.alerted),
        blocked_alerted=bool(gv.blocked_alerted),
        stranded_alerted=bool(gv.stranded_alerted),
        maintenance=bool(gv.maintenance),
        announced=bool(gv.announced),
        target=nodes[gv.target - 1] if gv.target else None,
        watchdogs=tuple(nodes[n] for n in range(model.n_nodes) if (gv.wd >> n) & 1),
    )


def placements(model: Model, state: State) -> dict[str, Placement]:
    return {topo.name: placement_of(model, state, topo.index) for topo in model.groups}


def node_status(model: Model, state: State) -> dict[str, str]:
    """``up`` | ``down`` (crashed) | ``cut`` (partitioned, lease valid) | ``lost`` |
    ``drained`` (out of service by an operator)."""
    nv = model.node_vars(state)
    out = {}
    for n, name in enumerate(model.topology.nodes):
        if (nv.down >> n) & 1:
            out[name] = "down"
        elif (nv.cut >> n) & 1:
            out[name] = "cut"
        elif (nv.lost >> n) & 1:
            out[name] = "lost"
        elif (nv.drained >> n) & 1:
            out[name] = "drained"
        else:
            out[name] = "up"
    return out


def drained_nodes(model: Model, state: State) -> list[str]:
    """The nodes an operator drained, whatever else they are: drained combines with down,
    cut and lost (SPEC.md section 2), and :func:`node_status` names only one of them
    (``drained`` for a node that is otherwise up)."""
    drained = model.node_vars(state).drained
    return [name for n, name in enumerate(model.topology.nodes) if (drained >> n) & 1]


def node_words(status: str, drained: bool) -> str:
    """A node's status as text: ``down and drained`` for a drained node that crashed, so
    that the mark an operator set is not hidden until the node returns."""
    return f"{status} and drained" if drained and status != "drained" else status


def node_words_of(model: Model, state: State) -> dict[str, str]:
    """Every node's status in words, a drain included (:func:`node_words`)."""
    drained = set(drained_nodes(model, state))
    return {node: node_words(status, node in drained)
            for node, status in node_status(model, state).items()}


def nodes_out(model: Model, state: State) -> int:
    """How many nodes are out in ``state`` (down, cut off, lost or drained: the count of
    ``assume at most K nodes down``)."""
    return bin(int(not_up(CONCRETE, model.node_vars(state)))).count("1")


def describe(model: Model, action: Action) -> str:
    """``crash n1``, ``n1: acquire-vip web``, ``switchover web n2``, ``fault web``..."""
    nodes, groups = model.topology.nodes, model.groups
    node = nodes[action.node] if action.node >= 0 else None
    group = groups[action.group].name if action.group >= 0 else None
    info = KINDS[action.kind]
    if info.scope == "node":
        return f"{action.kind.label} {node}"
    if not info.system:
        if action.kind in (ActionKind.SWITCHOVER, ActionKind.CLEANUP):
            return f"{action.kind.label} {group} {node}"  # the node is what they are about
        return f"{action.kind.label} {group}"
    return f"{node}: {action.kind.label} {group}"


def action_dict(model: Model, action: Action) -> dict[str, Any]:
    """The JSON form of an action (stable: used by simulate, traces and ITF files)."""
    return {
        "action": action.kind.label,
        "group": model.groups[action.group].name if action.group >= 0 else None,
        "node": model.topology.nodes[action.node] if action.node >= 0 else None,
        "system": KINDS[action.kind].system,
    }


def parse_action(model: Model, data: dict[str, Any]) -> Action:
    """Inverse of :func:`action_dict`; raises ValueError for unknown names."""
    try:
        kind = ActionKind[str(data["action"]).upper().replace("-", "_")]
    except KeyError:
        raise ValueError(f"unknown action {data.get('action')!r}") from None
    group = data.get("group")
    node = data.get("node")
    if group is not None and group not in [topo.name for topo in model.groups]:
        raise ValueError(f"unknown group {group!r}")
    g = model.topology.group_index(group) if group is not None else -1
    if node is not None and node not in model.topology.nodes:
        raise ValueError(f"unknown node {node!r}")
    n = model.topology.node_index(node) if node is not None else -1
    return Action(kind, g, n)
