"""The registry of rules: which rule defines each kind of action (SPEC.md, sections 5, 6).

:data:`KINDS` ties each :class:`~crg.spec.vocabulary.actions.ActionKind` to the rule that
defines it, says whether it is a step of the cluster service (*system*: fair, executed by
the runtime) or an event of the environment (*env*: chosen freely by the checker within
the assumptions, observed by the runtime), and which fault kind of the config enables it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crg.dsl.model import Fault
from crg.spec.rules import care, events, halt, run
from crg.spec.vocabulary.actions import Action, ActionKind

GroupRule = Callable[[Any, Any], tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class KindInfo:
    kind: ActionKind
    system: bool
    """A step of the cluster service (or of time): fair, performed by the runtime."""
    scope: str
    """``group``: one group on one node; ``node``: a node event touching every group."""
    rule: GroupRule | None
    """For group-scoped kinds: ``rule(view, node) -> (guard, next group vars)``."""
    fault: Fault | None
    """For environment events: the fault kind that must be explored for the checker to
    choose this event."""
    uses_node: bool = True
    """False for group events that concern the group as a whole (forgive, offline...)."""


_K = ActionKind
KINDS: dict[ActionKind, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo(_K.CLAIM, True, "group", run.claim, None),
        KindInfo(_K.ACQUIRE_VIP, True, "group", run.acquire_vip, None),
        KindInfo(_K.START_APP, True, "group", run.start_app, None),
        KindInfo(_K.START_MONITORS, True, "group", run.start_monitors, None),
        KindInfo(_K.NOTIFY_UP, True, "group", run.notify_up, None),
        KindInfo(_K.STOP_MONITORS, True, "group", halt.stop_monitors, None),
        KindInfo(_K.STOP_APP, True, "group", halt.stop_app, None),
        KindInfo(_K.RELEASE_VIP, True, "group", halt.release_vip, None),
        KindInfo(_K.NOTIFY_DOWN, True, "group", halt.notify_down, None),
        KindInfo(_K.RELEASE_OWNERSHIP, True, "group", halt.release_ownership, None),
        KindInfo(_K.WATCHDOG_CLEAN, True, "group", care.watchdog_clean, None),
        KindInfo(_K.WATCHDOG_RETIRE, True, "group", care.watchdog_retire, None),
        KindInfo(_K.FENCE, True, "group", care.fence, None),
        KindInfo(_K.ALERT, True, "group", care.alert, None),
        KindInfo(_K.ALERT_BLOCKED, True, "group", care.alert_blocked, None),
        KindInfo(_K.ALERT_STRANDED, True, "group", care.alert_stranded, None),
        KindInfo(_K.EXPIRE, True, "node", None, Fault.PARTITION),
        KindInfo(_K.CRASH, False, "node", None, Fault.CRASH),
        KindInfo(_K.REJOIN, False, "node", None, Fault.CRASH),
        KindInfo(_K.PARTITION, False, "node", None, Fault.PARTITION),
        KindInfo(_K.HEAL, False, "node", None, Fault.PARTITION),
        KindInfo(_K.FAULT, False, "group", events.fault, Fault.APP_FAULT),
        KindInfo(_K.SWITCHOVER, False, "group", events.switchover, Fault.SWITCHOVER),
        KindInfo(_K.FORGIVE, False, "group", events.forgive, Fault.APP_FAULT, uses_node=False),
        KindInfo(_K.OFFLINE, False, "group", events.go_offline, Fault.SWITCHOVER,
                 uses_node=False),
        KindInfo(_K.ONLINE, False, "group", events.go_online, Fault.SWITCHOVER,
                 uses_node=False),
        KindInfo(_K.DRAIN, False, "node", None, Fault.DRAIN),
        KindInfo(_K.UNDRAIN, False, "node", None, Fault.DRAIN),
        KindInfo(_K.CLEANUP, False, "group", events.cleanup, Fault.APP_FAULT),
        KindInfo(_K.MAINTENANCE_ON, False, "group", events.maintenance_on, Fault.MAINTENANCE,
                 uses_node=False),
        KindInfo(_K.MAINTENANCE_OFF, False, "group", events.maintenance_off,
                 Fault.MAINTENANCE, uses_node=False),
        KindInfo(_K.CLEAR, False, "group", events.clear, Fault.SWITCHOVER, uses_node=False),
    )
}

SYSTEM_GROUP_KINDS = tuple(k for k, i in KINDS.items() if i.system and i.scope == "group")
ENV_GROUP_KINDS = tuple(k for k, i in KINDS.items() if not i.system and i.scope == "group")
NODE_KINDS = tuple(k for k, i in KINDS.items() if i.scope == "node")

NOTIFY_KINDS = frozenset({ActionKind.NOTIFY_UP, ActionKind.NOTIFY_DOWN})


def is_system(action: Action) -> bool:
    return KINDS[action.kind].system


GROUP_EFFECTS: dict[ActionKind, Callable[[Any, Any], Any]] = {
    ActionKind.CRASH: events.crash_group,
    ActionKind.REJOIN: events.rejoin_group,
    ActionKind.PARTITION: events.partition_group,
    ActionKind.HEAL: events.heal_group,
    ActionKind.EXPIRE: events.expire_group,
    ActionKind.DRAIN: events.drain_group,
    ActionKind.UNDRAIN: events.undrain_group,
}
"""Node events' effect on each group, ``effect(view, node) -> GroupVars``: it reads the
node status before the event and the group's own variables (an event that ends an alert
episode clears the alert's flag in the same step); a partition's is the identity."""


NODE_UPDATES: dict[ActionKind, Callable[[Any, Any, Any], Any]] = {
    ActionKind.CRASH: events.crash_nodes,
    ActionKind.REJOIN: events.rejoin_nodes,
    ActionKind.PARTITION: events.partition_nodes,
    ActionKind.HEAL: events.heal_nodes,
    ActionKind.EXPIRE: events.expire_nodes,
    ActionKind.DRAIN: events.drain_nodes,
    ActionKind.UNDRAIN: events.undrain_nodes,
}
"""Every node event's effect on the node status, ``update(algebra, nodes, node)``."""


NODE_GUARDS: dict[ActionKind, Callable[..., Any]] = {
    ActionKind.CRASH: events.crash_guard,
    ActionKind.REJOIN: events.rejoin_guard,
    ActionKind.PARTITION: events.partition_guard,
    ActionKind.HEAL: events.heal_guard,
    ActionKind.EXPIRE: events.expire_guard,
    ActionKind.DRAIN: events.drain_guard,
    ActionKind.UNDRAIN: events.undrain_guard,
}
"""Every node event's node-level guard. Those that take a node out (:data:`TAKES_OUT`)
are ``guard(algebra, nodes, node, n_nodes, max_down)``, the others ``guard(algebra,
nodes, node)``."""

TAKES_OUT = frozenset({ActionKind.CRASH, ActionKind.PARTITION, ActionKind.DRAIN})
"""Node events that take a node out of service, so the failure assumption bounds them."""


def node_guard(kind: ActionKind, a: Any, nodes: Any, n: Any, n_nodes: int,
               max_down: int) -> Any:
    """Node event ``kind``'s guard for node ``n``, whichever arguments it takes."""
    guard = NODE_GUARDS[kind]
    if kind in TAKES_OUT:
        return guard(a, nodes, n, n_nodes, max_down)
    return guard(a, nodes, n)


def assumed_group_events(faults: frozenset[Fault]) -> tuple[ActionKind, ...]:
    """The environment's group events that the fault kinds ``faults`` allow, in order."""
    return tuple(k for k in ENV_GROUP_KINDS if KINDS[k].fault in faults)


def assumed_node_events(faults: frozenset[Fault]) -> tuple[ActionKind, ...]:
    """The environment's node events that the fault kinds ``faults`` allow, in the order
    of :data:`NODE_GUARDS` (the model's and the z3 encoding's order alike)."""
    return tuple(k for k in NODE_GUARDS if not KINDS[k].system and KINDS[k].fault in faults)
