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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crg.dsl.redact import redact
from crg.runtime.commit import ExtraFor, Outcome, Services
from crg.runtime.drivers.sinks import iso_time
from crg.runtime.records import Extra, Keys, dumps, read_ack, read_group, stored_events
from crg.runtime.store.base import Put, Snapshot
from crg.spec import Action, ActionKind, Model, State
from crg.spec.present.modes import ALERT_EVENTS, node_status, placement_of
from crg.spec.rules.placement import moving, placement

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

DROP = "drop-events"
"""The runtime alert's ``action`` for events a sender dropped before a receiver got them."""
QUEUE_LIMIT = 256
"""Service events of one sender kept in the store for one receiver that lags or has no
owner (its queue): beyond, the sender drops the oldest, and says so."""
DELETES_PER_STEP = 16
"""Events a step deletes at most (the rest go with the next): a transaction stays small."""


@dataclass(frozen=True)
class Retention:
    """What a service event's step deletes from the sender's events, and whom that
    costs an event (receiver -> (first, last) seq it will never get); ``acks``: the
    acknowledgements of those receivers, as read (key -> mod_revision), which the step
    compares: one that moved meanwhile makes the step decide again."""

    deletes: tuple[str, ...]
    dropped: dict[str, tuple[int, int]]
    acks: dict[str, int]


def retention(snap: Snapshot, keys: Keys, source: str, subscribers: Iterable[str],
              seq: int) -> Retention:
    """Sending event ``seq`` of ``source``: every stored event that all subscribers
    acknowledged goes, and so does every event more than QUEUE_LIMIT behind ``seq``,
    delivered or not (those the receivers had not got are *dropped*) — except each
    receiver's next one, the oldest it has not acknowledged: its owner may be running
    its hooks for it right now, and would deliver an event the sender called dropped
    (the owner delivers an event only while it is stored, :mod:`crg.runtime.courier`,
    so what goes here is exactly what the receiver misses)."""
    acks = {r: read_ack(snap, keys, r, source) for r in subscribers}
    delivered = min(acks.values(), default=seq)
    overflow = seq - QUEUE_LIMIT
    stored = [(n, key) for n, key, _ in stored_events(snap, keys, source)]
    following = {next((n for n, _ in stored if n > ack), None) for ack in acks.values()}
    gone = [(n, key) for n, key in stored
            if n <= max(delivered, overflow) and n not in following]
    gone = gone[:DELETES_PER_STEP]
    dropped = {}
    for receiver, ack in acks.items():
        lost = [n for n, _ in gone if n > ack]
        if lost:
            dropped[receiver] = (lost[0], lost[-1])
    compared = {}
    for receiver in dropped:
        entry = snap.get(keys.ack(receiver, source))
        compared[keys.ack(receiver, source)] = entry.mod_revision if entry else 0
    return Retention(tuple(key for _, key in gone), dropped, compared)


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
    if gv.owner and (gv.vip >> (gv.owner - 1)) & 1:
        # The owner stopped the service where it keeps the VIP: a local restart or a
        # blocked group, after a fault. `failed` no longer says so here — the halt's
        # stop-app clears it before notify-down is enabled — but the fault left its mark
        # in the budget (a restart used, or the owner banned); a new owner that takes over
        # from a lost node sends its owed down before it acquires the VIP.
        owner = names[gv.owner - 1]
        if (gv.ban >> (gv.owner - 1)) & 1:
            return (f"the application failed; its restart budget is spent on {owner}, "
                    "so it is stopped there")
        if gv.restarts:
            return f"the application failed; {owner} restarts it"
    # Left: a down owed by an earlier tenure that ended without one (SPEC.md section 5):
    # the new owner sends it before it starts the service, or, with no node to host the
    # group, the cluster's coordinator.
    lost = "its node was lost (crashed or cut off)"
    if not gv.owner:
        return f"{lost}, and no node can host it"
    owner = names[gv.owner - 1]
    if gv.owner - 1 != model.groups[g].preferred and not model.groups[g].failover:
        return (f"{lost}; {owner} holds its VIP in offline mode: the instance runs only on "
                "its preferred node")
    return f"{lost}; {owner} takes it over"


def alert_reason(model: Model, state: State, g: int) -> str:
    topo = model.groups[g]
    names = model.topology.nodes
    gv = model.group_vars(state, g)
    owner = names[gv.owner - 1]
    listed = ", ".join(names[c] for c in topo.candidates)
    if gv.offline:  # its application is stopped on purpose: it runs nowhere
        where = f"is in offline mode on {owner} (VIP held, application stopped)"
    elif placement_of(model, state, g).app == "up":
        where = f"runs on {owner}"
    else:
        where = f"holds its VIP on {owner}"
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


def stranded_reason(model: Model, state: State, g: int) -> str:
    topo = model.groups[g]
    names = model.topology.nodes
    status = node_status(model, state)
    listed = ", ".join(f"{names[c]} {status[names[c]]}" for c in topo.candidates)
    return (f"{topo.name} has no node left to run on ({listed}): its service is down "
            "until one of them is back (its agent started again — crg join in the embedded "
            "runtime — or crg undrain)")


_ALERT_REASONS = {ActionKind.ALERT: alert_reason, ActionKind.ALERT_BLOCKED: blocked_reason,
                  ActionKind.ALERT_STRANDED: stranded_reason}
"""What each alert of the spec says, read off the state before its step."""


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
            kept = retention(snap, keys, group.name, group.subscribers, seq)
            extra = Extra({group.name: {"events": seq}},
                          (Put(keys.event(group.name, seq), dumps(payload)),), kept.deletes,
                          kept.acks)
            if kept.dropped:  # not in the stored event: for the sender to report
                payload = {**payload, "dropped": {r: list(span) for r, span
                                                  in kept.dropped.items()}}
            return extra, payload
        if action.kind is ActionKind.FAULT:
            # The failure record crg status shows (restart window, last fault). Its
            # reason may quote an http monitor's URL: stored with the URL's secrets
            # hidden, since every reader of the record (the HTTP endpoint, whoever reads
            # the store) would otherwise have them.
            shown = redact(reason)
            payload = {"event": "fault", **common, "reason": shown}
            was = model.group_vars(before, action.group).target
            if was and not model.group_vars(after, action.group).target:
                # The fault spent the budget on the switchover's target: the spec withdraws
                # the switchover, and the operator who asked for it hears of it.
                payload["withdrawn"] = model.topology.nodes[was - 1]
            return (Extra({group.name: {"fault_time": time.time(), "fault_node": node,
                                        "fault_reason": shown}}), payload)
        if action.kind in ALERT_EVENTS:
            reason_of = _ALERT_REASONS[action.kind]
            return Extra(), {"event": ALERT_EVENTS[action.kind], **common, "time": iso_time(),
                             "reason": reason_of(model, before, action.group)}
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
    if action.kind in (ActionKind.NOTIFY_UP, ActionKind.NOTIFY_DOWN):
        _report_drops(agent, payload)
    if action.kind in ALERT_EVENTS:
        if agent.cluster_stopping:
            log.info("%s: %s of %s not paged: every node is stopping", agent.name,
                     payload["event"], payload["group"])
            return
        group = agent.groups[payload["group"]]
        for sink in group.alerts:
            agent.alert(sink, payload, group.name)


def _report_drops(agent: Machine, payload: dict[str, Any]) -> None:
    """A sender that had to drop events a receiver had not got says so, once per
    episode (until that receiver keeps up again)."""
    source = payload["group"]
    dropped = payload.get("dropped", {})
    for receiver in payload.get("recipients", ()):
        if receiver not in dropped:
            agent.trouble_over(receiver, f"{DROP} {source}")
            continue
        first, last = dropped[receiver]
        gone = f"{first}" if first == last else f"{first} to {last}"
        agent.runtime_alert(receiver, f"{DROP} {source}",
                            f"{source}'s service event(s) {gone} were dropped before "
                            f"{receiver} received them: its queue holds {QUEUE_LIMIT} "
                            "events (is a hook of its owner stuck?)", failed=False)
