"""The embedded runtime: every node of the configuration as an agent in this process.

The agents share a :class:`~crg.runtime.store.memory.MemoryStore` and an address driver
that needs no privileges; everything else — the agents, their commits, the trace — is
what a node runs on its own host with etcd. On top, this module offers fault injection
(``crash``/``join``), operator commands and an orderly shutdown (drain every node, wait
for every group to halt in order); and, with every agent crashed, the page nobody else
is left to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from crg.dsl.model import Config
from crg.runtime.address.ledger import LedgerDriver
from crg.runtime.agent import Agent
from crg.runtime.agreement import node_record
from crg.runtime.agreement import register as register_configured
from crg.runtime.commit import Actor, Services, read_state
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.endpoint.metrics import Metrics
from crg.runtime.endpoint.routes import NodeEndpoint
from crg.runtime.live import live_state
from crg.runtime.machine import NO_NODE_LEFT, Machine
from crg.runtime.observations import Observations, recorded, suspects
from crg.runtime.operator import (
    OPERATOR_REQUESTS,
    STOPPING,
    Client,
    CommandError,
    Operator,
    in_maintenance,
    timeout_of,
)
from crg.runtime.recorder import ClusterRecorder
from crg.runtime.records import Keys, encode
from crg.runtime.registration import register
from crg.runtime.status import config_status, status_of
from crg.runtime.store.base import Lease, Snapshot, StoreError
from crg.runtime.store.memory import MemoryStore
from crg.runtime.telemetry import NO_TELEMETRY
from crg.runtime.trace import TraceWriter
from crg.spec import Action, ActionKind, Model
from crg.spec.present.simulation import Arg, ScenarioError, Simulation

log = logging.getLogger("crg.runtime")


class EmbeddedCluster:
    def __init__(self, config: Config, *, run_dir: Path, address: LedgerDriver,
                 events: EventLog, trace_path: Path | None = None,
                 observe: bool = False) -> None:
        """``observe``: keep metrics and answer an HTTP endpoint per node
        (:attr:`endpoints`)."""
        self.config = config
        # Interpreted rules: a runtime takes a few steps a second, far too few to pay
        # for compiling code per group (minutes for a few hundred groups).
        self.model = Model.from_config(config, compiled=False)
        keys = Keys(config.cluster.name)
        self.store = MemoryStore()
        trace = (TraceWriter(trace_path, config, self.model, "embedded", board=events.board)
                 if trace_path is not None else None)
        self.recorder = ClusterRecorder(self.model, keys, trace)
        self.services = Services(config, self.model, keys, self.store, address, events,
                                 self.recorder, run_dir, verify=True)
        self.config_sha256 = self.services.fingerprint[0]
        self.address = address
        self.simulation = Simulation(config)
        self.agents: dict[str, Agent] = {}
        self.operator = Operator(self.services, self.simulation, Actor(), self.reported,
                                 on_accept=self.wake_all, dead=self._crashed)
        self.metrics = ({node: Metrics(config, self.model, node) for node in self.nodes}
                        if observe else {})
        self.endpoints = {
            node: NodeEndpoint(self.services, node,
                               lambda node=node: self.agents.get(node),  # type: ignore[misc]
                               metrics, mode="embedded", absent="down",
                               config_sha256=self.config_sha256, observe=self.recorded)
            for node, metrics in self.metrics.items()}
        self.leases: dict[str, Lease] = {}
        self._reconciler: asyncio.Task[None] | None = None
        self._crashing: set[asyncio.Task[None]] = set()
        """Crashes of agents that missed their lease, under way: the event loop keeps only
        a weak reference to a task, so one nobody holds may vanish before it has run."""
        self._fallen: list[Machine] = []
        """The machines of crashed agents with alerts still on their way (a crash that
        could not look for stray processes pages it after the crash): the shutdown lets
        them finish with the others'."""
        self._nobody: tuple[Machine, float] | None = None
        """While no agent is left (every node crashed): the machine of the last one, which
        paged it and pages the end of it, and since when (wall clock)."""
        self.started = time.time()
        self.stopping = False
        """Set when :meth:`shutdown` begins: from then on operator commands are refused
        (an undrain or a join would bring back what the shutdown is halting)."""

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.config.cluster.nodes

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Register every node first (the spec's initial state: all up, nothing owned),
        then start their agents."""
        keys, ttl = self.services.keys, self.services.ttl_ms
        sha256, form = self.services.fingerprint
        for node in self.nodes:
            lease = await self.store.grant(ttl)
            await register_configured(self.store, keys, node, lease, sha256, form)
            self.leases[node] = lease
        snap = await self.store.snapshot(keys.prefix)
        assert encode(self.model, keys, snap) == self.model.initial()
        for node in self.nodes:
            self._start_agent(node)
        self._reconciler = asyncio.create_task(self._reconcile_forever())

    def _start_agent(self, node: str) -> None:
        # Never cut off: the store is in this process (see Agent's cut_when_silent).
        agent = Agent(self.services, node, self.leases[node], self._lease_lost,
                      cut_when_silent=False, telemetry=self.metrics.get(node, NO_TELEMETRY))
        self.agents[node] = agent
        agent.start()

    async def _reconcile_forever(self) -> None:
        """Record crashes promptly even when no agent has anything to commit."""
        revision = 0
        store, keys = self.store, self.services.keys
        while True:
            with contextlib.suppress(StoreError):
                revision = await store.wait(keys.prefix, revision, 1000)
                async with self.services.lock:
                    snap = await store.snapshot(keys.prefix)
                    revision = snap.revision
                    self.recorder.reconcile(snap)

    # -- fault injection -----------------------------------------------------------------

    def _check_node(self, op: str, node: str) -> None:
        try:
            self.simulation.check_name(Arg.NODE, node)
        except ScenarioError as exc:
            raise CommandError(f"{op} {node}: {exc.reason}") from None

    async def crash(self, node: str, client: Client | None = None) -> str:
        """Everything on ``node`` dies at once; its lease runs out ``lease`` later, when
        the others notice, as with a real crash."""
        self._check_node("crash", node)
        agent = self.agents.pop(node, None)
        if agent is None:
            raise CommandError(f"crash {node}: {node} is down already")
        await agent.halt()
        killed = agent.machine.kill_all()
        released = []
        for group in self.config.groups:
            if self.address.holder(group.vip) == node:
                await self.address.remove(group.vip, node)
                released.append(group.vip.address)
        self.services.events.emit({"event": "crash", "node": node, "killed": killed,
                                   "released": released,
                                   "client": (client or Client()).as_dict()})
        ttl = self.services.ttl_ms / 1000
        log.warning("%s crashed (crg crash from %s): %d process group(s) killed, %d "
                    "address(es) released; its lease runs out within %.1f s", node,
                    client or "the runtime", len(killed), len(released), ttl)
        if not self.agents and not self.stopping and self._nobody is None:
            self._no_node_left(agent.machine)
        self._fallen = [m for m in self._fallen if m.deliveries]
        if agent.machine.deliveries:
            self._fallen.append(agent.machine)
        return (f"{node} crashed: {len(killed)} process group(s) killed, {len(released)} "
                f"address(es) released; the others notice within {ttl:g} s")

    def _no_node_left(self, machine: Machine) -> None:
        """Page that the last agent is gone: a group with no node left is paged by a spec
        step (``alert-stranded``) that some node in contact with the store commits, and
        none is left, so without this page nobody would hear that every service is down.
        Sent by the fallen ``machine``, whose deliveries outlive it (see ``_fallen``)."""
        self._nobody = (machine, time.time())
        reason = (f"every node of cluster {self.config.cluster.name} has crashed "
                  f"({', '.join(self.nodes)}): no node is left to run a group or to raise "
                  "its alerts, so every group's service is down; crg join NODE brings one "
                  "back")
        log.error("%s: %s", NO_NODE_LEFT, reason)
        machine.no_node_alert(reason)

    def _node_back(self, node: str) -> None:
        """End the episode of :meth:`_no_node_left`, if one is on: ``node`` joined."""
        if self._nobody is None:
            return
        machine, since = self._nobody
        self._nobody = None
        reason = f"{node} joined: a node runs the groups again"
        log.info("%s is over: %s", NO_NODE_LEFT, reason)
        machine.no_node_alert(reason, over=True, since=since)
        if machine.deliveries and machine not in self._fallen:
            self._fallen.append(machine)

    async def _lease_lost(self, agent: Agent) -> None:
        """An agent missed its own lease while the process ran (a stall of the whole
        process does not count: the store's lease time stands still with it): the others
        count its node as crashed, so it must be one."""
        if self.agents.get(agent.name) is agent:
            log.error("%s missed its lease: treating it as crashed (crg join %s brings it "
                      "back)", agent.name, agent.name)
            task = asyncio.get_running_loop().create_task(self._crash_lapsed(agent))
            self._crashing.add(task)
            task.add_done_callback(self._crashing.discard)

    async def _crash_lapsed(self, agent: Agent) -> None:
        # Crashed or stopped meanwhile (an operator's crash, the shutdown): nothing is
        # left to do, and the refusal is nobody's to hear.
        if self.agents.get(agent.name) is agent:
            with contextlib.suppress(CommandError):
                await self.crash(agent.name)

    async def join(self, node: str, client: Client | None = None) -> str:
        self._check_node("join", node)
        if node in self.agents:
            raise CommandError(f"join {node}: {node} is up; only a crashed node can join")
        keys = self.services.keys
        deadline = time.monotonic() + self.services.ttl_ms / 1000 + 2.0
        while True:
            if client is not None and client.left:
                # Ctrl-C while the node's old lease runs out: as for every command, one
                # interrupted before it is taken is never taken later.
                log.warning("join %s from %s: refused: its client went away (interrupted?) "
                            "before it could be taken; nothing was changed", node, client)
                raise CommandError(f"join {node}: its client went away before it could be "
                                   "taken; nothing was changed")
            async with self.services.lock:
                snap, _ = await read_state(self.services, Actor())
                self.recorder.reconcile(snap)
                if snap.get(keys.node(node)) is None:
                    action = Action(ActionKind.REJOIN, -1, self.nodes.index(node))
                    after = self.model.apply(self.recorder.state, action)
                    lease = await self.store.grant(self.services.ttl_ms)
                    revision = await register(self.store, self.model, keys, node,
                                              node_record(*self.services.fingerprint), lease,
                                              self.services.ttl_ms)
                    if revision:
                        self.recorder.committed(action, "runtime", self.recorder.state, after,
                                                revision, await self.store.snapshot(keys.prefix))
                        break
                    await self.store.revoke(lease)
            if time.monotonic() > deadline:
                raise CommandError(f"join {node}: {node}'s lease has not run out yet")
            await self.store.wait(keys.prefix, snap.revision, 200)
        self.leases[node] = lease
        self._start_agent(node)
        self.services.events.emit({"event": "join", "node": node,
                                   "client": (client or Client()).as_dict()})
        log.info("%s joined (crg join from %s)", node, client or "the runtime")
        self._node_back(node)
        return f"{node} joined"

    # -- operator commands ---------------------------------------------------------------

    async def operate(self, name: str, args: tuple[str, ...], *, follow: bool = False,
                      timeout_s: float = 10.0, client: Client | None = None
                      ) -> dict[str, Any]:
        """An operator's command (``switchover web n2``, ``drain n1``...) through the spec:
        the answer of :meth:`crg.runtime.operator.Operator.command`."""
        return await self.operator.command(name, args, follow=follow, timeout_s=timeout_s,
                                           client=client)

    def wake_all(self) -> None:
        for agent in self.agents.values():
            agent.wake()

    def reported(self, group: str) -> list[str]:
        """The nodes whose monitors reported ``group``'s application failed, not yet
        applied (held while the group is in maintenance)."""
        return [node for node, agent in self.agents.items() if group in agent.machine.faults]

    async def command(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The control API (see :mod:`crg.runtime.control`)."""
        op = str(request.get("op"))
        args = tuple(str(a) for a in request.get("args", ()))
        if op == "status":
            return {"status": await self.status()}
        if op == "state":
            return await live_state(self.services, Actor())
        client = Client.of(request.get("peer"))
        if self.stopping and op in OPERATOR_REQUESTS:
            return self.operator.refuse(op, args, STOPPING, client)
        if self.stopping and op == "join":
            raise CommandError(f"join {' '.join(args)}: {STOPPING}")
        if op in OPERATOR_REQUESTS:
            return await self.operator.command(
                op, args, every_group=bool(request.get("all")), follow=bool(request.get("wait")),
                timeout_s=timeout_of(request), client=client)
        if op == "crash" and len(args) == 1:
            return {"message": await self.crash(args[0], client)}
        if op == "join" and len(args) == 1:
            return {"message": await self.join(args[0], client)}
        raise CommandError(f"unknown request {op!r}")

    async def status(self) -> dict[str, Any]:
        snap, state = await read_state(self.services, Actor())
        return {**status_of(self.config, self.model, state, snap.revision, mode="embedded",
                            address=self.address, agents=self.agents,
                            seen=await self.observations(snap),
                            sinks=self.services.events.board.status()),
                "stopping": self.stopping, "no_node_left": self._no_node_status(),
                **config_status(snap, self.services.keys, self.config_sha256,
                                {n: e.address for n, e in self.endpoints.items()})}

    def _no_node_status(self) -> dict[str, Any] | None:
        """The episode of :meth:`_no_node_left` while it is on, as status shows it: the
        page went out, and ``crg status`` is to say the same (no agent is left to have a
        trouble of its own in the table)."""
        if self._nobody is None:
            return None
        return {"since": self._nobody[1], "reason": "every node has crashed: no node is "
                "left to run a group or to raise its alerts (crg join NODE brings one back)"}

    def _crashed(self) -> list[str]:
        """The nodes whose agent is gone (``crg crash``), whatever their leases say yet."""
        return [n for n in self.nodes if n not in self.agents]

    async def observations(self, snap: Snapshot) -> Observations:
        """Beyond the spec's state: failure records, failures reported, and the nodes
        that stopped renewing — a crashed node's agent is gone at once, though the others
        notice only when its lease runs out."""
        return replace(self.recorded(snap), suspects=await suspects(
            self.store, snap, self.services.keys, self.nodes, self.config.cluster,
            dead=self._crashed()))

    def recorded(self, snap: Snapshot) -> Observations:
        """The observations without the suspects (what the HTTP endpoints add to the
        spec's reading: :func:`crg.runtime.observations.recorded`)."""
        return recorded(snap, self.services.keys, self.config.groups, self.agents.values())

    def alive(self) -> bool:
        """Every agent that should run does, every task of it (systemd's watchdog)."""
        return all(agent.running for agent in self.agents.values())

    def summary(self) -> str:
        if self._reconciler is None:
            return f"cluster {self.config.cluster.name} is starting"
        return "; ".join(self.agents[n].summary() if n in self.agents else f"{n} is down"
                         for n in self.nodes)

    # -- shutdown ------------------------------------------------------------------------

    def halted(self) -> bool:
        """Settled with nothing of any group owned or held anywhere (the watchdogs have
        retired too)."""
        state = self.recorder.state
        for topo in self.model.groups:
            gv = self.model.group_vars(state, topo.index)
            if gv.owner or gv.vip or gv.app or gv.mon or gv.wd:
                return False
        return self.model.is_quiescent(state)

    async def shutdown(self) -> bool:
        """Drain every live node, wait (bounded) until every group halted in order, then
        stop. Returns whether it halted cleanly (else everything was killed)."""
        self.stopping = True
        for agent in self.agents.values():
            agent.machine.cluster_stopping = True
        stopping = Client.itself("stopping (Ctrl-C or SIGTERM)")
        for name in in_maintenance(self.model, self.recorder.state):
            # Left alone, it would be killed at the deadline: halt it in order instead.
            log.warning("%s is in maintenance: ending it, to halt it in order", name)
            await self.operate("maintenance-off", (name,), timeout_s=0.0, client=stopping)
        for node in self.nodes:
            if node in self.agents:
                await self.operate("drain", (node,), timeout_s=0.0, client=stopping)
        stop_s = max((g.app.stop.timeout_ms for g in self.config.groups), default=0) / 1000
        deadline = time.monotonic() + 2 * stop_s + 5.0
        clean = True
        while not self.halted():
            if time.monotonic() > deadline:
                log.error("the groups did not halt in time: killing what is left")
                clean = False
                break
            await self.store.wait(self.services.keys.prefix,
                                  (await self.store.snapshot(self.services.keys.prefix)).revision,
                                  200)
        machines = []
        for node in list(self.agents):
            agent = self.agents.pop(node)
            # Orderly: the alerts under way (a node's loss paged just now) are not cut off.
            await agent.halt(keep_deliveries=True)
            machines.append(agent.machine)
            if not clean:
                agent.machine.kill_all()
                for group in self.config.groups:
                    await self.address.remove(group.vip, node)
        if self._reconciler is not None:
            # Before the wait below: the halted agents renew no lease, and a lease that
            # runs out meanwhile is not a crash to record.
            self._reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciler
        # The last alerts, and those under way, go out; every node's at once, so the stop
        # waits DELIVERY_S at most in all, not per node.
        await asyncio.gather(*(machine.settle() for machine in (*machines, *self._fallen)))
        for lease in self.leases.values():
            with contextlib.suppress(StoreError):
                await self.store.revoke(lease)
        await self.store.close()
        if self.recorder.trace is not None:
            self.recorder.trace.close()
        return clean

