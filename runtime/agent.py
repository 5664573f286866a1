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

from crg.runtime import courier, node_news, node_watch, steps
from crg.runtime.address.base import AddressError
from crg.runtime.agreement import ConfigWatch
from crg.runtime.commit import NOT_ENABLED, Actor, Outcome, Services, commit, enabled, read_state
from crg.runtime.lease import LeaseKeeper
from crg.runtime.machine import STORE_CUT, Machine
from crg.runtime.notices import extra_for, report_after
from crg.runtime.records import RecordError, facts_of, read_group, unreadable
from crg.runtime.start_gate import StartGate
from crg.runtime.store.base import Lease, Snapshot, StoreError
from crg.runtime.tasks import Overtaken, cancel_all, unless
from crg.runtime.telemetry import NO_TELEMETRY, Telemetry
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
    """A node's lanes, on top of its lease (:class:`LeaseKeeper`) and its physical side
    (:class:`Machine`), which it hands to no one whole: the steps, the courier and the
    notices get the machine, the fencing feed the holdings and the lease keeper's
    renewals, the lease keeper the holdings and a way to wake the lanes."""

    def __init__(self, services: Services, node: str, lease: Lease,
                 on_lease_lost: Callable[[Agent], Awaitable[None]] | None = None, *,
                 cut_when_silent: bool = True, telemetry: Telemetry = NO_TELEMETRY,
                 start_wait_s: float = 0.0) -> None:
        """``cut_when_silent``: see :attr:`LeaseKeeper.cut_when_silent`; ``start_wait_s``:
        at a cold start, how long to wait for the other nodes (:class:`StartGate`)."""
        self.s = services
        self.name = node
        self.index = services.model.topology.node_index(node)
        self.telemetry = telemetry
        self.machine = Machine(services, node, self.wake, telemetry)
        lost = None if on_lease_lost is None else (lambda: on_lease_lost(self))
        self.keeper = LeaseKeeper(services, node, lease, self.machine.holdings, self.wake,
                                  on_lost=lost, cut_when_silent=cut_when_silent,
                                  telemetry=telemetry)
        self.keeper.cut_listeners.append(self._cut_off)
        self._cut_episode = 0
        """Counts cut-offs and heals: a page planned for one cut-off is for it alone."""
        sha256, form = services.fingerprint
        self.config_watch = ConfigWatch(
            services.keys, node, sha256, form,
            alert=lambda why: self.machine.runtime_alert(None, "config", why, failed=False),
            over=lambda: self.machine.trouble_over(None, "config"))
        self.gate = StartGate(services, node, start_wait_s)
        self.lanes = {topo.name: Lane(self, topo) for topo in services.model.groups}
        self._tasks: list[asyncio.Task[None]] = []
        self.decisions: list[str] = []
        """The latest decisions (for tests and ``crg status``), bounded."""
        self.fault_times: dict[str, list[float]] = {}
        """When faults of each group were applied here (for restart pacing)."""
        self.store_down = False
        """A lane's last cycle found the store unavailable: said once per outage for the
        node, not once per lane (every lane fails alike; the lease keeper says it too)."""

    def _cut_off(self, why: str | None) -> None:
        """A runtime alert about this node while it is cut off from the store (None: it
        healed): its groups stopped here, maybe everywhere if the store is down. Raised
        only if the node is still out of contact once its lease must have run out and it
        had time to reach the store again: a blip that heals sooner is over before anyone
        could act on a page, and a node that comes back from a stall finds the store at
        once — its loss was paged by the node that saw its lease run out."""
        self._cut_episode += 1
        if why is None:
            self.machine.trouble_over(None, STORE_CUT)
            return
        k, cluster = self.keeper, self.s.config.cluster
        expires = k.renewed_at + cluster.lease_ms / 1000
        grace = self.s.heartbeat_s + 2 * cluster.store_timeout_ms / 1000
        delay = max(expires - time.monotonic(), 0.0) + grace
        self.machine.spawn(self._page_if_still_cut(self._cut_episode, delay, why))

    async def _page_if_still_cut(self, episode: int, delay_s: float, why: str) -> None:
        await asyncio.sleep(delay_s)
        if self.keeper.cut and episode == self._cut_episode:
            self.machine.runtime_alert(None, STORE_CUT, why, failed=False)

    def _after_loss(self, live: tuple[str, ...]) -> None:
        """The store lost what it held: wait up to a lease for the nodes that were
        registered in it to register again before placing anything (a node not back by
        then would have been taken for lost anyway)."""
        self.gate.after_loss(live, self.s.ttl_ms / 1000)
        self.wake()

    # -- life ----------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.keeper.run(), name=f"{self.name}-lease"),
                       asyncio.create_task(courier.run(self.machine),
                                           name=f"{self.name}-courier"),
                       asyncio.create_task(node_watch.run(self.machine, self._after_loss),
                                           name=f"{self.name}-node-watch")]
        self._tasks += [asyncio.create_task(lane.run(), name=f"{self.name}-{name}")
                        for name, lane in self.lanes.items()]

    async def halt(self, *, keep_deliveries: bool = False) -> None:
        """Stop every task of this agent (its processes are not touched); with
        ``keep_deliveries`` (an orderly stop), not the alerts under way: the caller lets
        them finish (:meth:`Machine.settle`)."""
        await cancel_all(self._tasks)
        self._tasks = []
        await self.machine.halt(keep_deliveries=keep_deliveries)

    @property
    def running(self) -> bool:
        """Started, and none of its tasks (lease keeper, courier, lanes) has ended."""
        return self.started and not any(task.done() for task in self._tasks)

    @property
    def started(self) -> bool:
        """Its tasks were started (a host starts its fencing watchdog first, which may take
        a while on a loaded machine: until then it is starting, not stopped)."""
        return bool(self._tasks)

    def summary(self) -> str:
        """What this node does, in a few words (systemd's STATUS=)."""
        if self.keeper.cut:
            return f"{self.name} is cut off from the store: fencing"
        if (held := self.gate.holding()) is not None:
            return held
        serving = sorted(g for g, held in self.machine.holdings.facts.items() if "mon" in held)
        return f"{self.name} serves {', '.join(serving) if serving else 'no group'}"

    def wake(self, group: str | None = None) -> None:
        for name, lane in self.lanes.items():
            if group is None or name == group:
                lane.wakeup.set()

    # -- state ---------------------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        k = self.keeper
        return Actor(self.name, self.index, k.lease, self.machine.holdings.facts, k.cut,
                     k.view)

    async def read(self) -> tuple[Snapshot, State]:
        self.keeper.overdue()
        snap, state = await read_state(self.s, self.actor)
        if self.keeper.overdue():
            # The read straddled a stall: its answer is from after the time this node
            # had to be fenced by, so it fences from what it knew before.
            snap, state = await read_state(self.s, self.actor)
        self.keeper.remember(snap)
        self.config_watch.check(snap)
        return snap, state

    async def apply(self, action: Action, reason: str = "") -> Outcome:
        """Commit ``action`` as this node; on success this node's facts follow."""
        def committed(outcome: Outcome) -> None:  # under the commit lock
            self.machine.holdings.update(facts_of(self.s.model, outcome.after, self.index))

        outcome = await commit(self.s, lambda: self.actor, action,
                               extra_for(self.s, action, self.name, reason), committed)
        if outcome.committed:
            self.telemetry.committed(action, outcome.before, outcome.after)
            report_after(self.machine, action, outcome, reason)
        return outcome

    def restart_pause(self, group: str) -> float:
        """How long start-app of ``group`` should still wait here (see RESTART_PAUSE)."""
        now = time.monotonic()
        recent = [t for t in self.fault_times.get(group, []) if now - t < RESTART_WINDOW_S]
        self.fault_times[group] = recent
        if len(recent) < 2:
            return 0.0
        pause = min(RESTART_PAUSE_MAX_S, 0.25 * 2.0 ** (len(recent) - 2))
        return max(0.0, recent[-1] + pause - now)


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
        self.held: str | None = None
        """The instance token of a failure held back by a maintenance (said once)."""
        self.resting = False
        """The last cycle failed: wait out RETRY_S before the next."""
        self.window_start: tuple[float, float] | None = None
        """(the recorded time of the group's last fault, this host's monotonic clock when
        this lane first read it): the restart window's bound by the local clock."""

    async def run(self) -> None:
        a = self.agent
        while True:
            began = time.monotonic()
            try:
                decision = await self.run_cycle()
            except StoreError as exc:
                decision = f"{a.name}: store unavailable ({exc})"
            except RecordError as exc:
                # A record another writer spoilt: no state to decide on until it is
                # repaired. Its key says what to look at; a traceback would not help.
                decision = self._failed_cycle(unreadable(exc))
            except Exception as exc:
                # A bug or a failure nobody foresaw: the lane must live on (a dead lane
                # leaves its group half-moved for ever, and nobody hears of it).
                log.exception("%s: the cycle of %s failed", a.name, self.topo.name)
                decision = self._failed_cycle(f"{type(exc).__name__}: {exc}")
            a.telemetry.cycle(self.topo.name, time.monotonic() - began)
            if self.progressed or "nothing to do" in decision:
                a.machine.trouble_over(self.topo.name, "cycle")  # the lane works again
            a.decisions.append(decision)
            del a.decisions[:-200]
            # An unreachable store fails every cycle of every lane alike: said once per
            # outage and node, not once per heartbeat and lane (the lease keeper says it
            # as well); the outage ends with the first cycle that read the store.
            unreachable = "store unavailable" in decision
            if "nothing to do" in decision or "waits" in decision or (
                    unreachable and a.store_down):
                log.debug("%s", decision)
            else:
                log.info("%s", decision)
            a.store_down = unreachable
            if not self.progressed:
                await self.wait()

    def _failed_cycle(self, why: str) -> str:
        """The cycle failed for ``why``: alerted once per episode, tried again after
        RETRY_S (not at the next change in the store, which would spin: the revision a
        failed cycle read is not recorded)."""
        self.progressed = False
        self.retry_at = time.monotonic() + RETRY_S
        self.resting = True
        self.agent.machine.runtime_alert(self.topo.name, "cycle", why)
        return f"{self.agent.name}: the cycle of {self.topo.name} failed ({why})"

    async def wait(self) -> None:
        a = self.agent
        if self.resting:  # after a failed cycle: the timer (or a local event) only
            self.resting = False
            timeout = max(0.0, self.retry_at - time.monotonic())
            store_wait = asyncio.ensure_future(asyncio.sleep(timeout))
        else:
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
        if a.keeper.cut:  # the store cannot be reached: wait for the timer or a local event
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
        if not a.keeper.cut:
            await node_news.show_held(a.machine, a.keeper.lease, name, self.held, snap)
            await node_news.show_troubles(a.machine, a.keeper.lease, snap)
        if observed is not None:
            action, reason, held = observed
            if held:  # reported during a maintenance that is over: is it still so?
                still = await a.machine.still_failing(name)
                if still is None:
                    return (f"{a.name}: the failure of {name} reported during maintenance is "
                            "over (its monitors pass now)")
                reason = f"{reason}; reported during maintenance, still so: {still}"
            outcome = await a.apply(action, reason)
            text = describe(a.s.model, action)
            self.progressed = outcome.committed
            if outcome.committed:
                if action.kind is ActionKind.FAULT:
                    a.fault_times.setdefault(name, []).append(time.monotonic())
                    if withdrawn := outcome.payload.get("withdrawn"):
                        reason += (f"; the switchover to {withdrawn} is withdrawn: the "
                                   "application spent its restart budget there")
                return f"{a.name}: {text} ({reason})" if reason else f"{a.name}: {text}"
            return f"{a.name}: {text} not applied: {outcome.why}"
        if (closed := a.gate.closed(snap, state)) is not None:
            return closed
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
        # What the physical part has to say goes into the decision's line (what a fence
        # removed, monitors that did not pass): one line per step, not two.
        notes: list[str] = []
        try:
            undo = await self._perform(action, retiring, notes)
        except steps.DoneDespite as done:
            undo, trouble = done.undo, str(done)
        except Overtaken as gone:
            # Nothing of the step is left (it cleaned up when cancelled) and nothing was
            # committed: decide again at once, from the state that overtook it.
            self.progressed = True
            return f"{text} was abandoned ({gone})"
        except (steps.StepFailed, AddressError) as exc:
            return self._failed(action, text, str(exc))
        except Exception as exc:
            # Whatever went wrong, the step did not happen: it is retried like any failed
            # step, and the traceback goes to the log for whoever must fix the cause.
            log.exception("%s: %s failed", a.name, text)
            return self._failed(action, text, f"{type(exc).__name__}: {exc}")
        if notes:
            text = f"{text} ({'; '.join(notes)})"
        if trouble is None and action.kind is ActionKind.START_APP:
            trouble = _not_started(a.machine, name)  # committed all the same: a fault follows
        if trouble is not None:
            a.machine.runtime_alert(name, action.kind.label, trouble)  # committed all the same
        try:
            outcome = await a.apply(action)
        except Exception:  # StoreError, or a bug: the step did not happen, so undo it
            await self._undo(undo, text)
            self.retry_at = time.monotonic() + RETRY_S
            raise
        if not outcome.committed:
            await self._undo(undo, text)
            detail = "lost the race" if action.kind is ActionKind.CLAIM else "was undone"
            why = outcome.why
            if why == NOT_ENABLED:
                why = self._overtaken(outcome.before)
            return f"{text} {detail} ({why})"
        self.progressed = True
        if trouble is None:
            a.machine.trouble_over(name, action.kind.label)  # done and committed: it works
        return text

    async def _perform(self, action: Action, retiring: bool,
                       notes: list[str]) -> steps.Undo | None:
        """The physical part of ``action`` (``notes``: see :func:`steps.do`); one that may
        wait long (steps.ABANDONABLE) is given up as soon as the spec no longer enables
        the step (:meth:`_unwanted`)."""
        work = steps.do(self.agent.machine, action, retiring=retiring, notes=notes)
        if action.kind not in steps.ABANDONABLE:
            return await work
        return await unless(work, self._unwanted(action))

    async def _unwanted(self, action: Action) -> str:
        """Returns once the latest state read no longer enables ``action`` here — the
        test its commit would make (:func:`crg.runtime.commit.enabled`), made early: the
        runtime stops waiting only for a step the spec itself has dropped (a drain, the
        runtime's stop, which drains, a switchover, the node cut off...)."""
        a = self.agent
        while True:
            await self.wait()  # a change in the store, a local event, or the heartbeat
            try:
                snap, state = await a.read()
            except (StoreError, RecordError):
                # Unreadable for now: the step goes on, and its commit will tell.
                await asyncio.sleep(a.s.heartbeat_s)
                continue
            self.revision = snap.revision
            if enabled(a.s.model, state, action) is None:
                return self._overtaken(state)

    def _overtaken(self, state: State) -> str:
        """Why a step of this lane is dropped, with what the spec wants here instead, so
        the log says what overtook it (a drain shows as the halt that follows it)."""
        a = self.agent
        now = [x for x in a.s.model.decide(state, a.index) if x.group == self.topo.index]
        if not now:
            return "no longer enabled: nothing to do here now"
        step = describe(a.s.model, now[0]).removeprefix(f"{a.name}: ")
        return f"no longer enabled: {step} comes first now"

    def _failed(self, action: Action, text: str, why: str) -> str:
        """The physical part of ``action`` failed: nothing was committed; try again after
        RETRY_S (the spec still enables it) and tell the operator, once per trouble."""
        self.retry_at = time.monotonic() + RETRY_S
        self.agent.machine.runtime_alert(self.topo.name, action.kind.label, why)
        return f"{text} failed: {why}"

    async def _undo(self, undo: steps.Undo | None, text: str) -> None:
        if undo is None:
            return
        try:
            await undo()
        except Exception as exc:
            log.exception("%s: undoing %s failed", self.agent.name, text)
            self.agent.machine.runtime_alert(self.topo.name, "undo",
                                             f"undoing {text} failed: {exc}")

    def observed(self, snap: Snapshot, state: State) -> tuple[Action, str, bool] | None:
        """An environment event this node saw happen to the group, if it is enabled, and
        whether it was held back meanwhile (a failure reported during a maintenance)."""
        a = self.agent
        if a.keeper.cut:
            return None  # nobody could hear of it; the next owner sees for itself
        model = a.s.model
        name, g = self.topo.name, self.topo.index
        pending = a.machine.faults.get(name)
        if pending is not None:
            token, reason = pending
            current = a.machine.supervisor.instances.get(name)
            if current is None or current.token != token:
                del a.machine.faults[name]  # a failure of an instance that is gone already
                self.held = None
            else:
                action = Action(ActionKind.FAULT, g, a.index)
                if _enabled_event(model, state, action):
                    del a.machine.faults[name]
                    held, self.held = self.held == token, None
                    return action, reason, held
                if model.group_vars(state, g).maintenance and self.held != token:
                    # The spec charges no fault in maintenance: kept until it ends.
                    self.held = token
                    a.machine.hold_fault(name, "the group is in maintenance; it counts when "
                                               "the maintenance ends, if its monitors still "
                                               "say so")
        gv = model.group_vars(state, g)
        if gv.ban or gv.restarts:
            responsible = (gv.owner - 1 == a.index if gv.owner
                           else coordinator(model.view(state, g)) == a.index + 1)
            record = read_group(snap, a.s.keys, name)
            since = float(record.get("fault_time", 0.0))
            window = a.machine.groups[name].restart_window_ms / 1000
            if responsible and self._window_over(since, window):
                return Action(ActionKind.FORGIVE, g, -1), f"no fault for {window:g} s", False
        return None

    def _window_over(self, since: float, window: float) -> bool:
        """Whether the restart window of the fault recorded at ``since`` (by the wall clock
        of the node that saw it) is over. By the wall clocks, since any node may come to
        decide it; but never later than ``window`` after this lane first read that fault,
        by this host's monotonic clock: a clock set back, or the recording node's clock
        ahead, would otherwise keep the group's budget spent for as long as they differ."""
        now, ticks = time.time(), time.monotonic()
        if self.window_start is None or self.window_start[0] != since:
            self.window_start = (since, ticks)
            if since - now > CLOCK_AHEAD_S:
                log.warning("%s: the last fault of %s is recorded %.0f s ahead of this "
                            "host's clock (do the clocks agree? is NTP running?): its "
                            "restart window ends %g s from now at the latest",
                            self.agent.name, self.topo.name, since - now, window)
        return now - since >= window or ticks - self.window_start[1] >= window

    def window_ends(self, since: float, window: float) -> float:
        """When :meth:`_window_over` will find the window of the fault recorded at ``since``
        over, by this host's wall clock (what ``crg status`` shows: the recording node's
        clock alone may put it an hour away)."""
        ends = since + window
        if self.window_start is not None and self.window_start[0] == since:
            ends = min(ends, time.time() + window - (time.monotonic() - self.window_start[1]))
        return ends


CLOCK_AHEAD_S = 5.0
"""A fault recorded this far in the future of this host's clock is worth a warning."""


def _not_started(machine: Machine, group: str) -> str | None:
    """Why the application just started for ``group`` could not be started, if so."""
    instance = machine.supervisor.instances.get(group)
    if instance is None or instance.spawn_error is None:
        return None
    return f"the application {instance.describe_exit()}"


def _enabled_event(model: Model, state: State, action: Action) -> bool:
    return enabled(model, state, action) is not None
