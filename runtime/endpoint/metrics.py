"""The metrics of one agent, in a Prometheus registry of its own (text exposition).

Two kinds of figure. What the spec's state says — a group's mode, holder, application,
restarts, the nodes' status, the service events not yet delivered — is read from the
store when Prometheus scrapes (:meth:`Metrics.observe`), so it is never stale and costs
nothing between scrapes. What cannot be read back later — how long renewals and cycles
took, what this node committed, which store calls failed — is counted as it happens,
through the :class:`~crg.runtime.telemetry.Telemetry` hooks the agent calls.

Every agent serves the whole cluster's group gauges as it sees them (so one scrape of
any node answers "where is web?"); the counters are this node's own deeds. Prometheus
tells the agents apart by its ``instance`` label; ``target_info`` names the node.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from crg.dsl.model import Config
from crg.runtime.node_watch import reset_mark
from crg.runtime.observations import held
from crg.runtime.records import Keys, read_ack, read_owner, stored_events
from crg.runtime.store.base import Snapshot
from crg.runtime.telemetry import Telemetry
from crg.spec import Action, ActionKind, Model, State
from crg.spec.present.modes import Mode, drained_nodes, node_status, placements

CONTENT_TYPE = CONTENT_TYPE_LATEST
NODE_STATES = ("up", "down", "cut", "lost", "drained")
_ALERT_KINDS = {ActionKind.ALERT: "last-node", ActionKind.ALERT_BLOCKED: "blocked",
                ActionKind.ALERT_STRANDED: "stranded"}
"""The spec's alert steps, by the ``kind`` label of ``crg_group_alerts``."""
RENEW_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Seconds: a renewal on a healthy LAN takes about a millisecond; the store-timeout
(500 ms by default) bounds it."""


def pending_events(model: Model, keys: Keys, snap: Snapshot) -> dict[str, int]:
    """Receiving group -> service events sent to it and not yet delivered to its hooks
    (acknowledged in ``acks/<receiver>/<source>``), as the store says."""
    out = {}
    for receiver in model.groups:
        waiting = 0
        for source in model.groups:
            if receiver.name not in source.subscribers:
                continue
            done = read_ack(snap, keys, receiver.name, source.name)
            waiting += sum(1 for seq, _, _ in stored_events(snap, keys, source.name)
                           if seq > done)
        out[receiver.name] = waiting
    return out


class Metrics(Telemetry):
    def __init__(self, config: Config, model: Model, node: str) -> None:
        self.config = config
        self.model = model
        self.node = node
        self.keys = Keys(config.cluster.name)
        self.registry = CollectorRegistry(
            target_info={"cluster": config.cluster.name, "node": node})
        r = self.registry
        group = ("group",)
        # -- the cluster as the spec reads it (set at every scrape) --
        self.mode = Gauge("crg_group_mode", "1 for the group's current mode (normal, "
                          "failover, offline, blocked, down, moving), 0 for the others",
                          ("group", "mode"), registry=r)
        self.holder = Gauge("crg_group_holder", "1 on the node that holds the group's VIP, "
                            "0 on its other candidate nodes", ("group", "node"), registry=r)
        self.app_up = Gauge("crg_group_app_up", "1 when the group's application is up "
                            "where it runs (started, monitors passing)", group, registry=r)
        self.switching = Gauge("crg_group_switching_enabled", "0 while switching is "
                               "disabled (the group is on the last node of its list)",
                               group, registry=r)
        self.alerted = Gauge("crg_group_last_node_alert", "1 while the last-node alert of "
                             "the current episode is raised", group, registry=r)
        self.restarts = Gauge("crg_group_restarts", "local restarts used on the current "
                              "owner", group, registry=r)
        self.budget = Gauge("crg_group_restart_budget", "local restarts allowed before the "
                            "group fails over (restarts N)", group, registry=r)
        self.pending = Gauge("crg_group_events_pending", "service events sent to this "
                             "group and not yet delivered to its hooks", group, registry=r)
        self.nodes = Gauge("crg_node_status", "1 for the node's status (up, down, cut, "
                           "lost, drained), 0 for the others", ("node", "status"),
                           registry=r)
        # A drained node that crashes is "down" above; the operator's mark must not vanish
        # from the dashboards until it returns (drained combines with any status).
        self.drained = Gauge("crg_node_drained", "1 while an operator has the node drained, "
                             "whatever its status", ("node",), registry=r)
        # -- this agent --
        self.running = Gauge("crg_agent_running", "1 while this node's agent runs", registry=r)
        self.lease_valid = Gauge("crg_lease_valid", "1 while this node's lease is valid "
                                 "(renewed in time, not cut off)", registry=r)
        # A cold start's wait (crg run --start-wait): /health stays 200 meanwhile (the
        # agent is healthy), so these are what a dashboard or an alert reads.
        self.start_wait = Gauge("crg_start_wait_remaining_seconds", "seconds of "
                                "--start-wait left while this agent waits for the other "
                                "nodes to register before it places any group; 0 once "
                                "it acts (or without the option)", registry=r)
        self.start_wait_nodes = Gauge("crg_start_wait_nodes", "nodes this agent waits for "
                                      "to register before it places any group "
                                      "(--start-wait); 0 once it acts", registry=r)
        self.node_pending = Gauge("crg_node_events_pending", "service events this node "
                                  "must deliver (to the groups it owns) and has not yet",
                                  registry=r)
        self.renew = Histogram("crg_lease_renew_seconds", "time a successful lease "
                               "renewal took", registry=r, buckets=RENEW_BUCKETS)
        self.store_errors = Counter("crg_store_errors", "calls to the coordination store "
                                    "that failed", ("call",), registry=r)
        self.cycle_seconds = Gauge("crg_cycle_seconds", "how long the last cycle of the "
                                   "group's lane took on this node", group, registry=r)
        self.last_cycle = Gauge("crg_last_cycle_timestamp_seconds", "when the last cycle "
                                "of any lane ended (Unix time): stops moving when the "
                                "agent hangs", registry=r)
        self.failovers = Counter("crg_group_failovers", "takeovers of the group by this "
                                 "node on one of its possible nodes, operator switchovers "
                                 "aside", group, registry=r)
        self.switchovers = Counter("crg_group_switchovers", "operator switchovers of the "
                                   "group to this node", group, registry=r)
        self.alerts = Counter("crg_group_alerts", "alerts this node raised for the group: "
                              "kind last-node, blocked or stranded (the spec's alerts: on "
                              "the last node, unable to run anywhere, no node left) or "
                              "runtime (a step whose physical part failed)",
                              ("group", "kind"), registry=r)
        self.troubles = Gauge("crg_runtime_troubles", "runtime alerts in force on this "
                              "node (a step that keeps failing, events it cannot "
                              "deliver...) until the step works again, by group (empty: "
                              "about the node as a whole)", group, registry=r)
        self.deliveries = Counter("crg_alert_deliveries", "alerts sent to an alert sink "
                                  "from this node, by sink kind and whether it took them",
                                  ("sink", "result"), registry=r)
        self.config_info = Gauge("crg_config_info", "the configuration this agent runs "
                                 "(sha256 of its canonical form)", ("sha256",), registry=r)
        # A view of the store older than a lease says nothing about where things run
        # now: the cluster's gauges above are withdrawn meanwhile (see observe).
        self.view_age = Gauge("crg_view_age_seconds", "how old this agent's view of the "
                              "store is, which the group and node gauges come from: 0 when "
                              "read at the scrape; it grows while the store cannot be read",
                              registry=r)
        self.store_reset = Gauge("crg_store_reset_timestamp_seconds", "when the store was "
                                 "seen to have lost what it held (operators' settings "
                                 "forgotten), until crg cleanup --store-reset; 0 if never",
                                 registry=r)
        for g in config.groups:
            self.budget.labels(g.name).set(g.restarts)
            for counter in (self.failovers, self.switchovers):
                counter.labels(g.name)
            for kind in (*_ALERT_KINDS.values(), "runtime"):
                self.alerts.labels(g.name, kind)

    # -- Telemetry -------------------------------------------------------------------------

    def renewal(self, seconds: float) -> None:
        self.renew.observe(seconds)

    def cycle(self, group: str, seconds: float) -> None:
        self.cycle_seconds.labels(group).set(seconds)
        self.last_cycle.set(time.time())

    def committed(self, action: Action, before: State, after: State) -> None:
        if action.group < 0:
            return
        topo = self.model.groups[action.group]
        if action.kind in _ALERT_KINDS:
            self.alerts.labels(topo.name, _ALERT_KINDS[action.kind]).inc()
        elif action.kind is ActionKind.CLAIM:
            # A claim of a switchover's target is the operator's move, not a failover —
            # to the preferred node too; a claim of the preferred node otherwise is the
            # group's normal place (a start, a failback), neither.
            target = self.model.group_vars(before, action.group).target
            if target == action.node + 1:
                self.switchovers.labels(topo.name).inc()
            elif action.node != topo.candidates[0]:
                self.failovers.labels(topo.name).inc()

    def runtime_alert(self, group: str) -> None:
        self.alerts.labels(group, "runtime").inc()

    def alert_delivery(self, sink: str, delivered: bool) -> None:
        self.deliveries.labels(sink, "delivered" if delivered else "failed").inc()

    def store_error(self, call: str) -> None:
        self.store_errors.labels(call).inc()

    # -- at a scrape -----------------------------------------------------------------------

    def observe(self, state: State | None, snap: Snapshot | None, *, running: bool,
                lease_valid: bool, config_sha256: str | None = None,
                troubles: Iterable[str] = (),
                waiting: Mapping[str, Any] | None = None, view_age_s: float | None = None,
                stale: bool = False) -> None:
        """Set the gauges from the spec's state read now (None: unknown, left as they
        were, e.g. while the agent is still starting); ``troubles``: the group of each
        runtime alert in force here ("" for the node's own); ``waiting``: what its start
        gate waits for (:meth:`crg.runtime.start_gate.StartGate.waiting`; None: it
        acts); ``view_age_s``: how old the view ``state`` was read from is; ``stale``:
        too old to say where anything runs (older than a lease) — the cluster's gauges
        are withdrawn, and every application reads as not known to be up (0), so that a
        store out of reach of every agent pages as groups not served."""
        self.running.set(int(running))
        self.lease_valid.set(int(lease_valid))
        self.start_wait.set(waiting["left_s"] if waiting else 0)
        self.start_wait_nodes.set(len(waiting["for"]) if waiting else 0)
        counts = collections.Counter(troubles)
        for name in (*(g.name for g in self.config.groups), ""):
            self.troubles.labels(name).set(counts.get(name, 0))
        if config_sha256 is not None:
            self.config_info.clear()
            self.config_info.labels(config_sha256).set(1)
        if view_age_s is not None:
            self.view_age.set(round(view_age_s, 3))
        if state is None or snap is None:
            return
        if stale:
            self._withdraw()
            return
        reset = reset_mark(snap, self.keys)
        self.store_reset.set(reset["since"] if reset is not None else 0)
        model = self.model
        # a failure held during a maintenance (any node's): the application is not up,
        # though the spec, which charges no fault then, still has it running
        failed = {group: seen.node for group, seen in held(
            snap, self.keys, (g.name for g in self.config.groups)).items()}
        for name, p in placements(model, state).items():
            for mode in Mode:
                self.mode.labels(name, mode.value).set(int(p.mode is mode))
            topo = model.groups[model.topology.group_index(name)]
            holders = set((p.vip or "").split(",")) if p.vip else set()
            for c in topo.candidates:
                node = model.topology.nodes[c]
                self.holder.labels(name, node).set(int(node in holders))
            self.app_up.labels(name).set(int(p.app == "up" and failed.get(name) != p.node))
            self.switching.labels(name).set(int(p.switching))
            self.alerted.labels(name).set(int(p.alerted))
            self.restarts.labels(name).set(int(model.group_vars(state, topo.index).restarts))
        drained = set(drained_nodes(model, state))
        for node, status in node_status(model, state).items():
            for s in NODE_STATES:
                self.nodes.labels(node, s).set(int(status == s))
            self.drained.labels(node).set(int(node in drained))
        pending = pending_events(model, self.keys, snap)
        mine = 0
        for receiver, count in pending.items():
            self.pending.labels(receiver).set(count)
            owner = read_owner(snap, self.keys, receiver)
            if owner is not None and owner.node == self.node:
                mine += count
        self.node_pending.set(mine)

    def _withdraw(self) -> None:
        """No stale claims: the group and node gauges go, the applications read 0."""
        for gauge in (self.mode, self.holder, self.switching, self.alerted, self.restarts,
                      self.pending, self.nodes, self.drained):
            gauge.clear()
        for g in self.config.groups:
            self.app_up.labels(g.name).set(0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
