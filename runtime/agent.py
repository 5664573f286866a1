"""One node's agent: its lease, one lane per group, its physical resources.

A :class:`Lane` runs the cycle for one group on this node (Patroni's ``run_cycle``, one
per group so that a slow stop of one group never delays another): read a snapshot,
encode the spec state, apply an event this node observed (a fault, the end of a restart
window) or else ask :meth:`crg.spec.Model.decide` for the enabled steps and perform the
first — the physical part first, then :func:`crg.runtime.commit.commit`, undoing the
physical part if the step was no longer enabled. Every cycle returns one line saying
what it did; the lane then waits for a change in the store, a local event or the
heartbeat, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from crg.dsl.model import Fencing, Group, Vip
from crg.runtime import courier, steps
from crg.runtime.address.base import AddressError
from crg.runtime.commit import Actor, Outcome, Services, commit, enabled, read_state
from crg.runtime.drivers.monitors import MonitorSet
from crg.runtime.drivers.process import Instance, Supervisor
from crg.runtime.lease import LeaseKeeper
from crg.runtime.notices import extra_for, report_after
from crg.runtime.records import Facts, facts_of, read_group
from crg.runtime.store.base import Lease, Snapshot, StoreError
from crg.runtime.tasks import cancel_all
from crg.spec import Action, ActionKind, GroupTopology, Model, State
from crg.spec.present.modes import describe
from crg.spec.rules.view import coordinator

log = logging.getLogger("crg.runtime")

RETRY_S = 1.0
"""Pause before retrying a step whose physical part failed."""
RESTART_WINDOW_S = 10.0
RESTART_PAUSE_MAX_S = 10.0
"""A group that keeps failing on a node is restarted with growing pauses (0.25 s, 0.5 s,
1 s... up to this) while its faults come less than RESTART_WINDOW_S apart. The first
restart is immediate. Pacing only delays a step the spec enables: on the last node of a
group's list the spec restarts it forever, and a broken start command must not spin."""


class Agent:
    def __init__(self, services: Services, node: str, lease: Lease,
                 on_lease_lost: Callable[[Agent], Awaitable[None]] | None = None, *,
                 cut_when_silent: bool = True) -> None:
        """``cut_when_silent``: count this node cut off when its lease has not been
        renewed in time (see :mod:`crg.runtime.lease`); False in the embedded runtime,
        whose store is in this process: it cannot be out of reach, and when the process
        stalls the store's lease time stands still too."""
        self.s = services
        self.name = node
        self.index = services.model.topology.node_index(node)
        self.lease = lease
        self.facts: Facts = {}
        self.cut = False
        self.on_lease_lost = on_lease_lost
        self.cut_when_silent = cut_when_silent
        self.groups: dict[str, Group] = {g.name: g for g in services.config.groups}
        self.supervisor = Supervisor(services.config.cluster.name, node,
                                     services.run_dir / "logs" / node, self._exited,
                                     run_dir=services.run_dir)
        self.monitors: dict[str, MonitorSet] = {}
        self.faults: dict[str, tuple[str, str]] = {}
        """Group -> (instance token, reason): a failure seen here, not yet applied."""
        self.lanes = {topo.name: Lane(self, topo) for topo in services.model.groups}
        self.background: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.decisions: list[str] = []
        """The latest decisions (for tests and ``crg status``), bounded."""
        self.last_snap: Snapshot | None = None
        self.renewed_at = time.monotonic()
        """When the last successful lease renewal was sent."""
        self.fault_times: dict[str, list[float]] = {}
        """When faults of each group were applied here (for restart pacing)."""
        self.renewal_listeners: list[Callable[[float], None]] = []
        """Called with the send time of every successful renewal (a fencing watchdog's
        feed: the lease holds until at least that time + the lease)."""
        self.holdings_listeners: list[Callable[[], None]] = []
        """Called when what this node holds changed (see :meth:`holdings`)."""
        self.troubles: dict[tuple[str, str], str] = {}
        """(group, action) -> reason of the runtime alert raised for it, until it works."""
        self.keeper = LeaseKeeper(self)

    # -- life ----------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.keeper.run(), name=f"{self.name}-lease"),
                       asyncio.create_task(courier.run(self), name=f"{self.name}-courier")]
        self._tasks += [asyncio.create_task(lane.run(), name=f"{self.name}-{name}")
                        for name, lane in self.lanes.items()]

    async def halt(self) -> None:
        """Stop every task of this agent (its processes are not touched)."""
        await cancel_all(set(self._tasks) | self.background)
        self._tasks = []
        for monitors in list(self.monitors.values()):
            await monitors.stop()
        self.monitors.clear()

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` in the background; it dies with the agent (a crash)."""
        async def wrapped() -> None:
            await work

        task = asyncio.create_task(wrapped())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def wake(self, group: str | None = None) -> None:
        for name, lane in self.lanes.items():
            if group is None or name == group:
                lane.wakeup.set()

    def holdings(self) -> tuple[list[Vip], list[int]]:
        """The VIPs and application process groups this node must let go of when it is
        cut off (for a fencing watchdog fed after every renewal, see
        :attr:`renewal_listeners`): those of its ``fencing self`` groups. A ``fencing
        none`` group is kept by a cut-off node (the spec has no fence step for it), so the
        watchdog leaves it alone too, instead of killing it into a fault."""
        fenced = {g for g, group in self.groups.items() if group.fencing is Fencing.SELF}
        vips = [self.groups[g].vip for g, held in self.facts.items()
                if "vip" in held and g in fenced]
        pgids = [i.pgid for g, i in self.supervisor.instances.items()
                 if i.pgid is not None and g in fenced]
        return vips, pgids

    # -- state ---------------------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.index, self.lease, self.facts, self.cut, self.last_snap)

    async def read(self) -> tuple[Snapshot, State]:
        self.keeper.overdue()
        snap, state = await read_state(self.s, self.actor)
        if self.keeper.overdue():
            # The read straddled a stall: its answer is from after the time this node
            # had to be fenced by, so it fences from what it knew before.
            snap, state = await read_state(self.s, self.actor)
        self.last_snap = snap
        return snap, state

    def values(self, group: str) -> dict[str, str]:
        vip = self.groups[group].vip
        return {"vip": vip.address, "prefix": str(vip.prefix), "dev": vip.device or "",
                "node": self.name, "group": group, "cluster": self.s.config.cluster.name}

    async def apply(self, action: Action, reason: str = "") -> Outcome:
        """Commit ``action`` as this node; on success this node's facts follow."""
        changed = False

        def committed(outcome: Outcome) -> None:  # under the commit lock
            nonlocal changed
            facts = facts_of(self.s.model, outcome.after, self.index)
            changed, self.facts = facts != self.facts, facts
            if changed:
                self.keeper.fenced.set()

        outcome = await commit(self.s, lambda: self.actor, action,
                               extra_for(self.s, action, self.name, reason), committed)
        if outcome.committed:
            if changed:
                for listener in self.holdings_listeners:
                    listener()
            report_after(self, action, outcome, reason)
        return outcome

    # -- observations ----------------------------------------------------------------------

    def _exited(self, instance: Instance) -> None:
        if self.supervisor.instances.get(instance.group) is not instance:
            return
        if instance.exit_code == 0 and instance.spawn_error is None:
            log.info("%s: the start command of %s exited 0; its monitors judge its health",
                     self.name, instance.group)
            return
        self.report_fault(instance.group, instance.token,
                          f"the application {instance.describe_exit()}")

    def restart_pause(self, group: str) -> float:
        """How long start-app of ``group`` should still wait here (see RESTART_PAUSE)."""
        now = time.monotonic()
        recent = [t for t in self.fault_times.get(group, []) if now - t < RESTART_WINDOW_S]
        self.fault_times[group] = recent
        if len(recent) < 2:
            return 0.0
        pause = min(RESTART_PAUSE_MAX_S, 0.25 * 2.0 ** (len(recent) - 2))
        return max(0.0, recent[-1] + pause - now)

    def runtime_alert(self, group: str, action: str, reason: str) -> None:
        """Tell the operator that ``action`` of ``group`` failed here for ``reason``:
        logged every time, emitted as a ``runtime-alert`` event once while the same
        trouble lasts (a failed step is retried every RETRY_S)."""
        if self.troubles.get((group, action)) == reason:
            log.warning("%s: %s of %s failed again: %s", self.name, action, group, reason)
            return
        log.error("%s: %s of %s failed: %s", self.name, action, group, reason)
        self.troubles[(group, action)] = reason
        self.s.events.emit({"event": "runtime-alert", "group": group, "node": self.name,
                            "action": action, "reason": reason})

    def trouble_over(self, group: str, action: str) -> None:
        """``action`` of ``group`` worked: a new failure of it is news again."""
        self.troubles.pop((group, action), None)
        self.troubles.pop((group, "cycle"), None)

    def report_fault(self, group: str, token: str, reason: str) -> None:
        if group not in self.faults:
            self.faults[group] = (token, reason)
            self.wake(group)


class Lane:
    """The cycle of one group on one node."""

    def __init__(self, agent: Agent, topo: GroupTopology) -> None:
        self.agent = agent
        self.topo = topo
        self.wakeup = asyncio.Event()
        self.revision = 0
        self.retry_at = 0.0
        self.progressed = False
        """The last cycle changed something: look again at once instead of waiting."""

    async def run(self) -> None:
        a = self.agent
        while True:
            try:
                decision = await self.run_cycle()
            except StoreError as exc:
                decision = f"{a.name}: store unavailable ({exc})"
            except Exception as exc:
                # A bug or a failure nobody foresaw: the lane must live on (a dead lane
                # leaves its group half-moved for ever, and nobody hears of it).
                log.exception("%s: the cycle of %s failed", a.name, self.topo.name)
                self.progressed = False
                self.retry_at = time.monotonic() + RETRY_S
                why = f"{type(exc).__name__}: {exc}"
                a.runtime_alert(self.topo.name, "cycle", why)
                decision = f"{a.name}: the cycle of {self.topo.name} failed ({why})"
            a.decisions.append(decision)
            del a.decisions[:-200]
            if "nothing to do" in decision or "waits" in decision:
                log.debug("%s", decision)
            else:
                log.info("%s", decision)
            if not self.progressed:
                await self.wait()

    async def wait(self) -> None:
        a = self.agent
        timeout = a.s.heartbeat_s
        if self.retry_at:
            timeout = max(0.0, min(timeout, self.retry_at - time.monotonic()))
        store_wait = asyncio.ensure_future(self._store_wait(timeout))
        local = asyncio.ensure_future(self.wakeup.wait())
        try:
            await asyncio.wait({store_wait, local}, timeout=timeout + 1.0,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Not awaited: awaiting them here could swallow our own cancellation.
            for task in (store_wait, local):
                task.cancel()
        self.wakeup.clear()

    async def _store_wait(self, timeout: float) -> None:
        a = self.agent
        if a.cut:  # the store cannot be reached: wait for the timer or a local event
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(StoreError):
            await a.s.store.wait(a.s.keys.prefix, self.revision, int(timeout * 1000))

    async def run_cycle(self) -> str:
        a = self.agent
        name = self.topo.name
        self.progressed = False
        snap, state = await a.read()
        self.revision = snap.revision
        observed = self.observed(snap, state)
        if observed is not None:
            action, reason = observed
            outcome = await a.apply(action, reason)
            text = describe(a.s.model, action)
            self.progressed = outcome.committed
            if outcome.committed:
                if action.kind is ActionKind.FAULT:
                    a.fault_times.setdefault(name, []).append(time.monotonic())
                return f"{a.name}: {text} ({reason})" if reason else f"{a.name}: {text}"
            return f"{a.name}: {text} not applied: {outcome.why}"
        actions = [x for x in a.s.model.decide(state, a.index) if x.group == self.topo.index]
        if not actions:
            return f"{a.name}: nothing to do for {name}"
        action = actions[0]
        text = describe(a.s.model, action)
        if action.kind is ActionKind.START_APP and (pause := a.restart_pause(name)) > 0:
            self.retry_at = max(self.retry_at, time.monotonic() + pause)
        # A step that failed waits before it is tried again, but fencing never waits: a
        # cut-off node must let go before its lease runs out (a store call that failed
        # as the node was being cut off held the fence back by a whole RETRY_S).
        if action.kind is not ActionKind.FENCE and time.monotonic() < self.retry_at:
            return f"{text} waits {self.retry_at - time.monotonic():.2f} s"
        self.retry_at = 0.0
        wd = a.s.model.group_vars(state, self.topo.index).wd
        retiring = bool((wd >> a.index) & 1) and not (
            (a.s.model.group_vars(a.s.model.apply(state, action), self.topo.index).wd
             >> a.index) & 1)
        trouble: str | None = None
        try:
            undo = await steps.do(a, action, retiring=retiring)
        except steps.DoneDespite as done:
            undo, trouble = done.undo, str(done)
        except (steps.StepFailed, AddressError) as exc:
            return self._failed(action, text, str(exc))
        except Exception as exc:
            # Whatever went wrong, the step did not happen: it is retried like any failed
            # step, and the traceback goes to the log for whoever must fix the cause.
            log.exception("%s: %s failed", a.name, text)
            return self._failed(action, text, f"{type(exc).__name__}: {exc}")
        if trouble is not None:
            a.runtime_alert(name, action.kind.label, trouble)  # committed all the same
        elif action.kind is ActionKind.START_APP and (why := _not_started(a, name)):
            a.runtime_alert(name, action.kind.label, why)  # committed: a fault follows
        else:
            a.trouble_over(name, action.kind.label)
        try:
            outcome = await a.apply(action)
        except Exception:  # StoreError, or a bug: the step did not happen, so undo it
            await self._undo(undo, text)
            self.retry_at = time.monotonic() + RETRY_S
            raise
        if not outcome.committed:
            await self._undo(undo, text)
            detail = "lost the race" if action.kind is ActionKind.CLAIM else "was undone"
            return f"{text} {detail} ({outcome.why})"
        self.progressed = True
        return text

    def _failed(self, action: Action, text: str, why: str) -> str:
        """The physical part of ``action`` failed: nothing was committed; try again after
        RETRY_S (the spec still enables it) and tell the operator, once per trouble."""
        self.retry_at = time.monotonic() + RETRY_S
        self.agent.runtime_alert(self.topo.name, action.kind.label, why)
        return f"{text} failed: {why}"

    async def _undo(self, undo: steps.Undo | None, text: str) -> None:
        if undo is None:
            return
        try:
            await undo()
        except Exception as exc:
            log.exception("%s: undoing %s failed", self.agent.name, text)
            self.agent.runtime_alert(self.topo.name, "undo", f"undoing {text} failed: {exc}")

    def observed(self, snap: Snapshot, state: State) -> tuple[Action, str] | None:
        """An environment event this node saw happen to the group, if it is enabled."""
        a = self.agent
        if a.cut:
            return None  # nobody could hear of it; the next owner sees for itself
        model = a.s.model
        name, g = self.topo.name, self.topo.index
        pending = a.faults.get(name)
        if pending is not None:
            token, reason = pending
            current = a.supervisor.instances.get(name)
            if current is None or current.token != token:
                del a.faults[name]  # a failure of an instance that is gone already
            else:
                action = Action(ActionKind.FAULT, g, a.index)
                if _enabled_event(model, state, action):
                    del a.faults[name]
                    return action, reason
        gv = model.group_vars(state, g)
        if gv.ban or gv.restarts:
            responsible = (gv.owner - 1 == a.index if gv.owner
                           else coordinator(model.view(state, g)) == a.index + 1)
            record = read_group(snap, a.s.keys, name)
            since = float(record.get("fault_time", 0.0))
            window = a.groups[name].restart_window_ms / 1000
            if responsible and time.time() - since >= window:
                return Action(ActionKind.FORGIVE, g, -1), f"no fault for {window:g} s"
        return None


def _not_started(agent: Agent, group: str) -> str | None:
    """Why the application just started for ``group`` could not be started, if so."""
    instance = agent.supervisor.instances.get(group)
    if instance is None or instance.spawn_error is None:
        return None
    return f"the application {instance.describe_exit()}"


def _enabled_event(model: Model, state: State, action: Action) -> bool:
    return enabled(model, state, action) is not None
