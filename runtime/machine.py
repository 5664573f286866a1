"""One node's physical side: the processes it runs, the monitors that watch them, the
faults they reported, what it holds, and the operator alerts about them.

The steps' physical parts (:mod:`crg.runtime.steps`), the delivery of service events
(:mod:`crg.runtime.courier`) and of alerts (:mod:`crg.runtime.notices`) act through this
object; none of them needs the agent's lanes, lease or decisions, so none of them gets
the agent. What a fault means (a step of the spec) is the lanes' business: a reported
fault only wakes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from crg.dsl.model import Fencing, Group, Sink, SinkKind, Vip
from crg.dsl.redact import redact
from crg.dsl.templates import placeholder_values
from crg.runtime import alerting
from crg.runtime.commit import Services
from crg.runtime.drivers.monitors import MonitorSet, unwatched
from crg.runtime.drivers.process import NODE_VARIABLE, RUN_DIR_VARIABLE, Instance, Supervisor
from crg.runtime.drivers.sinks import iso_time
from crg.runtime.holdings import Holdings
from crg.runtime.tasks import cancel_all
from crg.runtime.telemetry import NO_TELEMETRY, Telemetry

log = logging.getLogger("crg.runtime")

NODE_LOST = "node-lost"
"""The ``action`` of the runtime alert about a node that left the cluster unannounced."""

STORE_CUT = "store"
"""The ``action`` of the runtime alert a node raises about itself when it is cut off from
the store and fences itself (nobody else may be able to say it: the store may be down for
every node)."""

NO_NODE_LEFT = "no-node-left"
"""The ``action`` of the runtime alert the embedded runtime raises when its last agent
crashed: no node is left to commit the spec's alerts (a group with no node left is
paged as stranded by a node in contact with the store), so the runtime says it itself."""


class Machine:
    def __init__(self, services: Services, node: str, wake: Callable[[str | None], None],
                 telemetry: Telemetry = NO_TELEMETRY) -> None:
        """``wake(group)``: make the lane of ``group`` (every lane for None) look again."""
        self.s = services
        self.name = node
        self.index = services.model.topology.node_index(node)
        self.groups: dict[str, Group] = {g.name: g for g in services.config.groups}
        self.supervisor = Supervisor(services.config.cluster.name, node,
                                     services.run_dir / "logs" / node, self._exited,
                                     run_dir=services.run_dir, board=services.events.board)
        self.monitors: dict[str, MonitorSet] = {}
        self.faults: dict[str, tuple[str, str]] = {}
        """Group -> (instance token, reason): a failure seen here, not yet applied."""
        self.fault_seen: dict[str, float] = {}
        """Group -> when (wall clock) the failure in :attr:`faults` was seen."""
        self.holdings = Holdings()
        self.background: set[asyncio.Task[None]] = set()
        self.deliveries: set[asyncio.Task[None]] = set()
        """The part of :attr:`background` that tells the operator something: alerts on
        their way to a sink. An orderly stop lets them finish (:meth:`settle`); the rest
        of the background work (a loop that retries until something lands) may never end
        on its own, so it is cancelled instead of waited for."""
        self.troubles: dict[tuple[str, str], tuple[str, float]] = {}
        """(group, action) -> (reason, wall-clock time) of the runtime alert raised for it,
        until it works ("" for the node as a whole): what ``crg status`` shows."""
        self.telemetry = telemetry
        self._wake = wake
        self.cluster_stopping = False
        """Every node of the cluster is being stopped at once (the embedded runtime's
        Ctrl-C or SIGTERM): the spec's alerts its drain raises — groups on their last
        node, then with no node left — go to the events file and the log, not to the
        pagers; the operator who stopped the cluster asked for exactly that."""

    # -- work ------------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None], *, delivery: bool = False) -> None:
        """Run ``work`` in the background; it dies with the agent (a crash). A
        ``delivery`` (an alert on its way to a sink) outlives an orderly stop's
        :meth:`halt`, bounded (:meth:`settle`)."""
        # The task runs ``work`` itself, not a wrapper awaiting it: a wrapper cancelled
        # before its first step never awaits ``work``, which Python then reports on the
        # way out ("RuntimeWarning: coroutine '_paged' was never awaited").
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        if delivery:
            self.deliveries.add(task)
            task.add_done_callback(self.deliveries.discard)

    async def halt(self, *, keep_deliveries: bool = False) -> None:
        """Stop the background work and the monitors (the processes are not touched).
        With ``keep_deliveries`` (an orderly stop) the alerts under way go on, for the
        caller to :meth:`settle`; without (a crash), they die with the rest."""
        doomed = self.background - self.deliveries if keep_deliveries else self.background
        await cancel_all(set(doomed))
        for monitors in list(self.monitors.values()):
            await monitors.stop()
        self.monitors.clear()

    def kill_all(self) -> list[int]:
        """A crash, or a stop that ran out of time: SIGKILL everything this node started
        (:meth:`Supervisor.kill_all`); the process groups killed. Processes that may have
        escaped, because the process table could not be read, are a runtime alert; a
        caller about to exit lets it out first (:meth:`settle`)."""
        report = self.supervisor.kill_all()
        if report.unsearched is not None:
            self.runtime_alert(
                None, "kill-strays", f"killed the {len(report.groups)} process group(s) it "
                f"started, but could not look for processes that escaped them "
                f"({report.unsearched}): look for processes with {RUN_DIR_VARIABLE}="
                f"{self.supervisor.run_dir} and {NODE_VARIABLE}={self.name} in their "
                "environment", once=False)
        return list(report.groups)

    async def settle(self, timeout_s: float = alerting.DELIVERY_S) -> None:
        """Let the alerts under way finish, within ``timeout_s`` in all — also those they
        raise meanwhile (a sink that failed is told to the other sinks) — then cancel
        what is left. Only deliveries are waited for: the other background work is the
        caller's to stop (:meth:`halt`), some of it never ends on its own."""
        deadline = time.monotonic() + timeout_s
        while self.deliveries and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self.deliveries), timeout=left)
        await cancel_all(set(self.deliveries))

    def values(self, group: str) -> dict[str, str]:
        return placeholder_values(self.groups[group], self.name, self.s.config.cluster.name)

    def to_fence(self) -> tuple[list[Vip], list[int]]:
        """The VIPs and application process groups this node must let go of when it is
        cut off (for a fencing watchdog fed after every renewal): those of its ``fencing
        self`` groups. A ``fencing none`` group is kept by a cut-off node (the spec has no
        fence step for it), so the watchdog leaves it alone too, instead of killing it
        into a fault."""
        fenced = {g for g, group in self.groups.items() if group.fencing is Fencing.SELF}
        vips = [self.groups[g].vip for g, held in self.holdings.facts.items()
                if "vip" in held and g in fenced]
        pgids = [i.pgid for g, i in self.supervisor.instances.items()
                 if i.pgid is not None and g in fenced]
        return vips, pgids

    # -- what happens here ---------------------------------------------------------------

    def _exited(self, instance: Instance) -> None:
        if self.supervisor.instances.get(instance.group) is not instance:
            return
        if instance.exit_code == 0 and instance.spawn_error is None:
            why = unwatched(self.groups[instance.group])
            if why is None:
                log.info("%s: the start command of %s exited 0; its monitors judge its "
                         "health", self.name, instance.group)
                return
            # A fault now, not one monitor interval later with a reason that reads as a
            # crash: nothing can pass the process check again, whatever the daemon does.
            self.report_fault(instance.group, instance.token, why)
            return
        self.report_fault(instance.group, instance.token,
                          f"the application {instance.describe_exit()}")

    def report_fault(self, group: str, token: str, reason: str) -> None:
        if group not in self.faults:
            self.faults[group] = (token, reason)
            self.fault_seen[group] = time.time()
            self._wake(group)

    def hold_fault(self, group: str, why: str) -> None:
        """The failure reported for ``group`` cannot be applied now (``why``: the group is
        in maintenance): said once, kept for when it can (README, "Operating a
        cluster", crg maintenance)."""
        _, reason = self.faults[group]
        log.warning("%s: %s failed (%s); not acted on: %s", self.name, group, reason, why)
        self.s.events.emit({"event": "fault-held", "group": group, "node": self.name,
                            "reason": reason, "held": why})

    async def still_failing(self, group: str) -> str | None:
        """Why ``group``'s application still fails here by its monitors' checks, run once
        now (None: they all pass, and watch again for a new failure)."""
        monitors = self.monitors.get(group)
        if monitors is None:
            return "its monitors do not run here"
        ok, why = await monitors.recheck()
        if ok:
            await monitors.rearm()
            return None
        return why

    def runtime_alert(self, group: str | None, action: str, reason: str, *,
                      once: bool = True, failed: bool = True) -> None:
        """Tell the operator that ``action`` of ``group`` (None: of the node as a whole)
        failed here for ``reason`` (``failed`` False: ``action`` names something that
        happened, a lost store or events, and the log says so without "failed"): logged
        every time, emitted as a ``runtime-alert`` event — with ``once``, once per
        episode: until :meth:`trouble_over` says it worked (a failed step is retried
        every second, and its reason may read differently each time)."""
        # crg status shows the reason: a URL's secrets in it (a sink's, a store's) stay
        # hidden there as they do in the log and the events file
        reason = redact(reason)
        what = _what(group, action)
        if once and (group or "", action) in self.troubles:
            log.warning("%s: %s %s: %s", self.name, what,
                        "failed again" if failed else "(still)", reason)
            return
        log.error("%s: %s%s: %s", self.name, what, " failed" if failed else "", reason)
        if once:
            self.troubles[(group or "", action)] = (reason, time.time())
        if group is not None:
            self.telemetry.runtime_alert(group)
        self.tell({"event": "runtime-alert", "group": group, "node": self.name,
                    "action": action, "reason": reason})

    def trouble_over(self, group: str | None, action: str) -> None:
        """``action`` of ``group`` worked: a new failure of it is news again, and the
        episode's end is told where its start was (a pager resolves what it raised)."""
        trouble = self.troubles.pop((group or "", action), None)
        if trouble is not None:
            log.info("%s: %s works again", self.name, _what(group, action))
            self.tell({"event": "runtime-alert-over", "group": group, "node": self.name,
                        "action": action, "reason": f"works again (it failed: {trouble[0]})",
                        "since": iso_time(trouble[1])})

    def node_alert(self, node: str, reason: str, *, over: bool = False,
                   sent: Callable[[], None] | None = None) -> None:
        """Tell the operator that ``node`` left the cluster without being taken out of
        service (``over``: that it is back) — a runtime alert about that node, said by
        this one (:mod:`crg.runtime.node_watch` makes sure only one node says it).
        ``sent()`` once every alert sink has been tried, whatever came of it."""
        reason = redact(reason)
        # the reason names the node and says lost or back: the line is not to say it twice
        if over:
            log.info("%s: %s", self.name, reason)
        else:
            log.error("%s: %s", self.name, reason)
        self.tell({"event": "runtime-alert-over" if over else "runtime-alert",
                    "group": None, "node": node, "action": NODE_LOST, "reason": reason,
                    "by": self.name}, sent)

    def no_node_alert(self, reason: str, *, over: bool = False,
                      since: float | None = None) -> None:
        """Tell the operator that the embedded runtime has no node left (``over``: that
        one joined again, the episode that began at ``since``): about the cluster, not a
        node — ``group`` and ``node`` None — so to the sinks of every group, each once.
        The caller logs it (it is the cluster's news, not this node's)."""
        payload: dict[str, Any] = {
            "event": "runtime-alert-over" if over else "runtime-alert", "group": None,
            "node": None, "action": NO_NODE_LEFT, "reason": redact(reason)}
        if since is not None:
            payload["since"] = iso_time(since)
        self.tell(payload)

    def tell(self, payload: dict[str, Any], sent: Callable[[], None] | None = None) -> None:
        """Emit a runtime alert's event (or its end's; also one about something not this
        node's own, as a store's loss cleared from here) and send it to the alert sinks:
        the operator's pager hears of it, not only the events file (a group stuck on a step
        that keeps failing is not to sit there unnoticed). Not to ``log`` sinks: the log
        has it.
        An alert about a node goes to the sinks of the groups that may run there (about
        no node, the cluster's: to every group's); one about a failing alert sink to the
        others only (paging that sink about itself would fail again, with a webhook's
        three attempts each time).
        ``sent()`` once every sink has been tried."""
        # The cluster's name, as a group's alerts carry it: a pager fed by several
        # clusters cannot tell otherwise whose "n3 left the cluster" it is.
        payload = {"event": payload["event"], "cluster": self.s.config.cluster.name,
                   **payload}
        self.s.events.emit(payload)
        payload = {**payload, "time": iso_time()}
        sinks = [(sink, filled_by) for sink, filled_by
                 in alerting.sinks_for(self.groups, payload["group"], payload["node"])
                 if sink.kind is not SinkKind.LOG
                 and not alerting.about_itself(sink, payload)]
        left = len(sinks)

        def one_done() -> None:
            nonlocal left
            left -= 1
            if left == 0 and sent is not None:
                sent()

        for sink, filled_by in sinks:
            self.alert(sink, payload, filled_by, one_done)
        if not sinks and sent is not None:
            sent()

    def alert(self, sink: Sink, payload: dict[str, Any], filled_by: str,
              tried: Callable[[], None] | None = None) -> None:
        """Send an alert to ``sink`` in the background (placeholders filled in from group
        ``filled_by``). A sink that fails is itself a runtime alert — logged, told to the
        other sinks once per episode and shown by ``crg status`` — until a delivery to it
        works again: a pager that hears nothing must not look like a cluster with nothing
        to say. The alert is about the sink on this node, not about the alert's group: a
        sink several groups share is one pager, and its failing one episode, whichever
        group's alerts (or the node's) it failed. ``tried()`` after, either way."""
        name = alerting.sink_name(sink)

        def done(ok: bool, detail: str) -> None:
            if ok:
                self.trouble_over(None, name)
            else:
                self.runtime_alert(None, name, detail)
            if tried is not None:
                tried()

        self.spawn(alerting.send(self.s.events, self.supervisor, self.name, sink, payload,
                                 self.values(filled_by), self.telemetry, done),
                   delivery=True)


def _what(group: str | None, action: str) -> str:
    """``acquire-vip of web``, or the action alone for the node as a whole."""
    return f"{action} of {group}" if group is not None else action
