"""One node per process: ``crg run FILE --node n1 --store etcd://...``.

The same :class:`~crg.runtime.agent.Agent` as the embedded runtime, with a store shared
by every host (etcd) and an address driver for real addresses: nothing else differs.
The node registers its lease (waiting out a lease left by an earlier run of itself),
writes its own trace (``--trace``: a *node* trace for ``crg conform``), serves its own
control socket, and on Ctrl-C drains only itself — its groups move to the other nodes in
order — and undrains itself when it starts again (an operator's ``crg drain`` stays).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from crg.dsl.model import Config
from crg.dsl.redact import redact
from crg.runtime.address.base import AddressDriver, AddressError
from crg.runtime.agent import Agent
from crg.runtime.agreement import ConfigConflict, register
from crg.runtime.commit import RACE, Actor, Outcome, Services, commit, read_state, state_of
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.endpoint.metrics import Metrics
from crg.runtime.endpoint.routes import NodeEndpoint
from crg.runtime.fencing import (
    FenceReport,
    FenceState,
    FencingError,
    FencingWatchdog,
    process_groups,
)
from crg.runtime.fingerprint import fingerprint
from crg.runtime.live import live_state
from crg.runtime.observations import Observations, recorded, suspects
from crg.runtime.operator import (
    OPERATOR_REQUESTS,
    STOPPING,
    Client,
    CommandError,
    Operator,
    in_maintenance,
    text,
    timeout_of,
)
from crg.runtime.recorder import NodeRecorder
from crg.runtime.records import SHUTDOWN_MARK, Extra, Keys
from crg.runtime.registration import rejoin_txn
from crg.runtime.status import config_status, out_of_date, status_of
from crg.runtime.store.base import Lease, LeaseExpired, Put, Snapshot, Store, StoreError
from crg.runtime.store.counted import CountedStore
from crg.runtime.telemetry import NO_TELEMETRY
from crg.runtime.trace import TraceWriter
from crg.spec import Action, ActionKind, Model, State
from crg.spec.present.simulation import Event, Simulation

log = logging.getLogger("crg.runtime")



class HostRuntime:
    def __init__(self, config: Config, node: str, *, store: Store, address: AddressDriver,
                 run_dir: Path, events: EventLog, trace_path: Path | None = None,
                 watchdog: str | None = None, observe: bool = False,
                 start_wait_s: float = 0.0) -> None:
        """``watchdog``: start the fencing watchdog process (runtime/fencing.py) with
        this way of removing addresses (``linux`` or ``none``), fed by the agent;
        ``observe``: keep metrics and answer an HTTP endpoint (:attr:`endpoints`);
        ``start_wait_s``: at a cold start, how long the agent waits for the other nodes
        to register before it acts (runtime/start_gate.py)."""
        if node not in config.cluster.nodes:
            raise CommandError(f"{node} is not a node of cluster {config.cluster.name}")
        self.config = config
        self.node = node
        # Interpreted rules: a runtime takes a few steps a second, far too few to pay
        # for compiling code per group (minutes for a few hundred groups).
        self.model = Model.from_config(config, compiled=False)
        self.config_sha256, self.canonical = fingerprint(config)
        keys = Keys(config.cluster.name)
        trace = (TraceWriter(trace_path, config, self.model, "node", node, board=events.board)
                 if trace_path is not None else None)
        self.recorder = NodeRecorder(self.model, keys, node, trace)
        self.metrics = Metrics(config, self.model, node) if observe else None
        if self.metrics is not None:
            store = CountedStore(store, self.metrics.store_error)
        self.services = Services(config, self.model, keys, store, address, events,
                                 self.recorder, run_dir)
        self.endpoints: dict[str, NodeEndpoint] = {} if self.metrics is None else {
            node: NodeEndpoint(self.services, node, lambda: self.agent, self.metrics,
                               mode="node", absent="starting",
                               config_sha256=self.config_sha256, observe=self.recorded)}
        self.simulation = Simulation(config)
        self.agent: Agent | None = None
        self.watchdog_kind = watchdog
        self.start_wait_s = start_wait_s
        self.watchdog: FencingWatchdog | None = None
        self._deadline = 0.0
        self.stopping = False
        """Set when :meth:`shutdown` begins: from then on this node's control socket
        refuses operator commands (an undrain would bring back what it is moving away)."""

    @property
    def agents(self) -> dict[str, Agent]:
        return {self.node: self.agent} if self.agent is not None else {}

    async def start(self) -> None:
        store, keys, ttl = self.services.store, self.services.keys, self.services.ttl_ms
        lease = await store.grant(ttl)
        deadline = time.monotonic() + ttl / 1000 + 1.0
        start_wait_s = self.start_wait_s
        while not await self._register(lease):
            if start_wait_s:
                # Its previous run held the key a moment ago: the cluster was running
                # (perhaps on this node alone, its groups down with it), no cold start.
                log.info("%s: its previous run's lease still holds its key: it ran a moment "
                         "ago, so it will not wait for the other nodes (--start-wait)",
                         self.node)
                start_wait_s = 0.0
            # Our own key from a run that just ended: its lease runs out shortly.
            if time.monotonic() > deadline:
                await store.revoke(lease)
                raise CommandError(f"{self.node} is already running (its key "
                                   f"{keys.node(self.node)} is held by a live lease)")
            snap = await store.snapshot(keys.node(self.node))
            await store.wait(keys.node(self.node), snap.revision, 500)
            # Our new lease must outlive the wait, which may be as long as a lease.
            try:
                await store.keepalive(lease)
            except LeaseExpired:
                lease = await store.grant(ttl)
        self.agent = Agent(self.services, self.node, lease,
                           telemetry=self.metrics or NO_TELEMETRY,
                           start_wait_s=start_wait_s)
        if self.watchdog_kind is not None:
            await self._start_watchdog(self.agent)
        # Running from here on: the agent keeps its lease and rides out a store that does
        # not answer (an etcd election), so nothing after this may end the start-up.
        self.agent.start()
        self.agent.machine.spawn(self._undrain_after_shutdown())

    async def _register(self, lease: Lease) -> bool:
        """Register this node with its configuration's fingerprint (False: its key is
        held by a live lease); a configuration that differs from the one the live nodes
        run is refused (CommandError: exit 2), the lease given back."""
        try:
            keys, ttl = self.services.keys, self.services.ttl_ms
            return await register(
                self.services.store, keys, self.node, lease, self.config_sha256,
                self.canonical,
                lambda snap: rejoin_txn(self.model, keys, snap, self.node, lease, ttl),
            ) is not None
        except ConfigConflict as exc:
            with contextlib.suppress(StoreError):
                await self.services.store.revoke(lease)
            raise CommandError(str(exc)) from None

    async def _undrain_after_shutdown(self) -> None:
        """A node drained by its own last shutdown takes its groups back: the undrain is
        committed once the store answers and the spec enables it (until then the node
        stays drained, which the spec handles like any drained node). Tried again every
        heartbeat, like the drain of a stop: a node that starts cut off from the store, or
        whose commit loses every race, would otherwise stay drained for good, in silence."""
        assert self.agent is not None
        store, key = self.services.store, self.services.keys.drained(self.node)
        told = ""
        while True:
            try:
                drained = (await store.snapshot(key)).get(key)
                if drained is None or drained.value != SHUTDOWN_MARK:
                    return  # undrained already, or an operator's drain: theirs to end
                outcome = await self._commit(Action(ActionKind.UNDRAIN, -1, self.agent.index))
                if outcome.committed:
                    return
                why = outcome.why
            except StoreError as exc:
                why = str(exc)
            if why != told:  # once per reason, not every heartbeat
                log.info("%s: its groups are not taken back yet after its last shutdown (%s); "
                         "trying again every heartbeat", self.node, why)
                told = why
            await asyncio.sleep(self.services.heartbeat_s)

    async def _start_watchdog(self, agent: Agent) -> None:
        """The fencing watchdog outlives a killed or stalled agent: fed after every lease
        renewal with the instant the node must be fenced by (renewal sent + lease -
        fence margin) and what it holds, it fences the node itself if no newer feed
        comes (README, "Running on several hosts")."""
        cluster = self.config.cluster
        margin_s = (cluster.lease_ms - cluster.fence_margin_ms) / 1000
        reported: set[str] = set()
        """What the watchdog fenced since the last renewal: a feed with that past
        deadline (the node is fencing itself) makes it fence again what is left."""

        def report(fenced: FenceReport) -> None:
            killed = [p for p in fenced.killed if f"pgid {p}" not in reported]
            removed = [v for v in fenced.removed if f"vip {v}" not in reported]
            reported.update([f"pgid {p}" for p in killed] + [f"vip {v}" for v in removed])
            if killed or removed or fenced.errors:
                log.error("%s: the fencing watchdog fenced the node (%s): killed %s, removed "
                          "%s%s", self.node, fenced.reason, killed, removed,
                          f", failed: {list(fenced.errors)}" if fenced.errors else "")
                self.services.events.emit({"event": "fenced", "node": self.node,
                                           "reason": fenced.reason, "killed": killed,
                                           "removed": removed,
                                           "errors": list(fenced.errors)})
                # The node is cut off now: its lanes record the fencing as the spec's
                # steps, and it heals or expires only after that.
                agent.keeper.watchdog_fenced(fenced.reason)

        watchdog = await FencingWatchdog.start(self.node, address=self.watchdog_kind or "none",
                                               on_fenced=report)
        self.watchdog = watchdog
        self._deadline = time.monotonic() + margin_s

        def feed() -> None:
            vips, pgids = agent.machine.to_fence()
            state = FenceState(self._deadline, tuple(vips), process_groups(pgids))
            agent.machine.spawn(self._feed(state))

        def renewed(sent: float) -> None:
            self._deadline = sent + margin_s
            reported.clear()
            feed()

        agent.keeper.renewal_listeners.append(renewed)
        agent.machine.holdings.listeners.append(feed)
        feed()

    async def _feed(self, state: FenceState) -> None:
        if self.watchdog is None:
            return
        try:
            await self.watchdog.feed(state)
        except FencingError as exc:
            log.error("%s: the fencing watchdog is gone (%s); the agent fences itself when "
                      "its lease cannot be renewed", self.node, exc)

    async def _commit(self, action: Action, extra: Extra | None = None) -> Outcome:
        """Commit one of this node's own events, again while other nodes' commits win
        the race (bounded): every node may be draining itself at the same moment."""
        assert self.agent is not None
        agent = self.agent
        deadline = time.monotonic() + 5.0
        while True:
            outcome = await commit(self.services, lambda: agent.actor, action,
                                   lambda snap, before, after: (extra or Extra(), {}))
            if outcome.committed or outcome.why != RACE or time.monotonic() > deadline:
                return outcome
            await asyncio.sleep(random.uniform(0.0, self.services.heartbeat_s))

    async def command(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The control API. It is served before :meth:`start` has finished (which may
        wait out the lease of an earlier run): then ``status`` says so and commands are
        refused, both as answers (an error would read as a dead runtime)."""
        op = str(request.get("op"))
        args = tuple(str(a) for a in request.get("args", ()))
        if op == "status":
            return {"status": await self.status()}
        if op in ("crash", "join"):
            raise CommandError(f"{text(Event(op, args))}: crash and join inject faults into "
                               "the embedded runtime only; here, stop or start the agent's "
                               "process (or the machine)")
        if op not in OPERATOR_REQUESTS and op != "state":
            raise CommandError(f"unknown request {op!r}")
        agent = self._started()
        if agent is None:
            said = f"{text(Event(op, args))}: " if op in OPERATOR_REQUESTS else ""
            raise CommandError(f"{said}{self.node} is still starting (its agent does not "
                               "run yet): try again in a moment")
        if op == "state":
            if agent.keeper.cut:  # its last view is no "state the store says now"
                raise CommandError(f"{self.node} is cut off from the store: it knows only its "
                                   "last view, which may be stale; ask another node's "
                                   "runtime, or again once it is back in contact")
            try:
                return await live_state(self.services, agent.actor)
            except StoreError as exc:  # an answer: a closed connection reads as a dead runtime
                raise CommandError(f"{self.node} cannot read the store: {exc}") from None
        operator = Operator(self.services, self.simulation, lambda: agent.actor,
                            lambda group: [self.node] if group in agent.machine.faults else [],
                            on_accept=agent.wake, holding=agent.gate.holding,
                            machine=agent.machine)
        if self.stopping:
            return operator.refuse(op, args, STOPPING, Client.of(request.get("peer")))
        return await operator.command(op, args, every_group=bool(request.get("all")),
                                      follow=bool(request.get("wait")),
                                      timeout_s=timeout_of(request),
                                      client=Client.of(request.get("peer")))

    async def status(self) -> dict[str, Any]:
        """The cluster as this node reads it, at the store revision read; ``agent`` says
        whether this node's agent runs yet; ``store``, when it could not read the store
        and shows its last view instead."""
        snap, state, away = await self._read()
        cluster = self.config.cluster
        try:
            silent = {} if away else await suspects(
                self.services.store, snap, self.services.keys,
                [n for n in cluster.nodes if n != self.node], cluster)
        except StoreError:
            silent = {}
        seen = replace(self.recorded(snap), suspects=silent)
        status = status_of(self.config, self.model, state, snap.revision, mode="node",
                           address=None, agents=self.agents, seen=seen,
                           sinks=self.services.events.board.status())
        full = {**status, "node": self.node,
                "agent": ("starting" if self._started() is None
                          else "running" if self.alive() else "stopped"),
                "stopping": self.stopping,
                **self._waiting(), **({"store": away} if away else {}),
                **config_status(snap, self.services.keys, self.config_sha256,
                                {n: e.address for n, e in self.endpoints.items()})}
        return out_of_date(full, self.node, self.services.ttl_ms / 1000)

    async def _read(self) -> tuple[Snapshot, State, dict[str, Any] | None]:
        """The store as this node reads it, and None; or, when the store cannot be read
        (it does not answer, or the agent is cut off and acts on its last view), that
        last view and why it is not a fresh one: an agent that runs must answer with what
        it acts on, saying so, rather than look like a runtime that does not answer."""
        agent = self.agent
        actor = agent.actor if agent is not None else Actor()
        try:
            snap, state = await read_state(self.services, actor)
        except StoreError as exc:
            if agent is None or agent.keeper.view is None:
                raise CommandError(f"{self.node} cannot read the store: {exc}") from None
            snap, why = agent.keeper.view, str(exc)
            return snap, state_of(self.services, actor, snap), self._away(why)
        if not actor.cut:
            return snap, state, None
        keeper = agent.keeper if agent is not None else None
        failed = f": {keeper.last_error}" if keeper and keeper.failing_since else ""
        return snap, state, self._away(f"cut off: no lease renewal in time{failed}; it "
                                       "fences itself")

    def _away(self, why: str) -> dict[str, Any]:
        """``store`` in the status: not answered, why, and how old the view shown is."""
        assert self.agent is not None
        age = time.monotonic() - self.agent.keeper.view_at
        return {"answered": False, "reason": redact(why), "view_age_s": round(age, 1)}

    def _waiting(self) -> dict[str, Any]:
        """``waiting``: the nodes this agent waits for at a cold start, and how long it
        waits at most (absent once it acts)."""
        waiting = self.agent.gate.waiting() if self.agent is not None else None
        return {} if waiting is None else {"waiting": waiting}

    def recorded(self, snap: Snapshot) -> Observations:
        """The observations without the suspects (what the HTTP endpoint adds to the
        spec's reading: :func:`crg.runtime.observations.recorded`)."""
        return recorded(snap, self.services.keys, self.config.groups, self.agents.values())

    def alive(self) -> bool:
        """Its agent runs, every task of it (systemd's watchdog pings while so)."""
        return self.agent is not None and self.agent.running

    def summary(self) -> str:
        agent = self._started()
        return f"{self.node} is starting" if agent is None else agent.summary()

    def _started(self) -> Agent | None:
        """The agent once its tasks run (None while start() still registers the node or
        starts the fencing watchdog: the node is starting, whatever the store says)."""
        return self.agent if self.agent is not None and self.agent.started else None

    def _holds_nothing(self) -> bool:
        assert self.agent is not None
        return not self.agent.machine.holdings.facts

    async def shutdown(self) -> bool:
        """Drain this node, wait (bounded) until it owns and holds nothing, stop."""
        self.stopping = True
        agent = self.agent
        if agent is None:
            return True
        clean = True
        undrained = await self._drain_itself(agent)
        if undrained is not None:
            log.warning("%s: stopping, but its drain cannot be recorded yet (%s): tried "
                        "again every heartbeat until it is", self.node, undrained)
        stop_s = max((g.app.stop.timeout_ms for g in self.config.groups), default=0) / 1000
        deadline = time.monotonic() + 2 * stop_s + 5.0
        while not (self._holds_nothing() and not await self._owns_any()):
            if time.monotonic() > deadline:
                log.error("%s: its groups did not halt in time%s: killing what is left",
                          self.node, "" if undrained is None else
                          f" (its drain could never be recorded: {undrained})")
                clean = False
                break
            await asyncio.sleep(self.services.heartbeat_s)
            if undrained is not None:
                # Cut off from the store when the stop began (as while it registers again
                # after the store lost its data): back in contact, it would take its
                # groups back and keep them until the deadline, undrained.
                undrained = await self._drain_itself(agent)
                if undrained is None:
                    log.warning("%s: its drain is recorded now: its groups move away",
                                self.node)
        # Orderly: the alerts under way are let out below; the rest (the undrain of its
        # last shutdown, which may retry for ever) is cancelled now.
        await agent.halt(keep_deliveries=True)
        if self.watchdog is not None:
            await self.watchdog.stop()
        if not clean:
            agent.machine.kill_all()
            for group in self.config.groups:
                try:
                    await self.services.address.remove(group.vip, self.node)
                except AddressError as exc:
                    # Go on: the lease is revoked below and the other VIPs must come off
                    # too; the operator is told which address to check.
                    log.error("%s: could not remove %s of %s on the way out: %s",
                              self.node, group.vip.address, group.name, exc)
        await agent.machine.settle()  # those under way, and those kill_all raised, go out first
        with contextlib.suppress(StoreError):
            await self.services.store.revoke(agent.keeper.lease)
        await self.services.store.close()
        if self.recorder.trace is not None:
            self.recorder.trace.close()
        return clean

    async def _drain_itself(self, agent: Agent) -> str | None:
        """Drain this node for its stop, ending the maintenance of the groups it owns
        first; None once the store says it is drained (now, or already: an operator's
        drain stays as it was), else why it is not yet — the node is cut off from the
        store, the store does not answer, or the spec does not enable the drain in the
        state read."""
        try:
            _, state = await read_state(self.services, agent.actor)
            if (self.model.node_vars(state).drained >> agent.index) & 1:
                return None
            operator = Operator(self.services, self.simulation, lambda: agent.actor)
            for name in in_maintenance(self.model, state, agent.index):
                # Left alone, it would be killed at the deadline: halt it in order instead.
                log.warning("%s: %s is in maintenance: ending it, to move it away in order",
                            self.node, name)
                await operator.command("maintenance-off", (name,), timeout_s=0.0,
                                       client=Client.itself("stopping (Ctrl-C or SIGTERM)"))
            keys = self.services.keys
            outcome = await self._commit(
                Action(ActionKind.DRAIN, -1, agent.index),
                Extra(puts=(Put(keys.drained(self.node), SHUTDOWN_MARK),)))
        except StoreError as exc:
            return str(exc)
        return None if outcome.committed else outcome.why

    async def _owns_any(self) -> bool:
        try:
            _, state = await read_state(self.services, self.agent.actor)  # type: ignore[union-attr]
        except StoreError:
            return False
        return any(self.model.group_vars(state, t.index).owner - 1 == self.model.topology
                   .node_index(self.node) for t in self.model.groups)
