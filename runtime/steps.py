"""The physical part of each step of the cluster service, and how to undo it.

:func:`do` performs the part of ``action`` that touches the machine — an address, a
process, the monitors — *before* the step is committed, so the store never says more
than is true; it returns how to undo it, for when the commit finds the step no longer
enabled. Steps that only change records (claim, notify, release-ownership, alert,
alert-blocked) have no physical part. Which step to take is never decided here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError
from crg.runtime.drivers.monitors import MonitorSet
from crg.runtime.drivers.process import Instance
from crg.spec import Action, ActionKind

if TYPE_CHECKING:
    from crg.runtime.agent import Agent

log = logging.getLogger("crg.runtime")

Undo = Callable[[], Awaitable[None]]


class StepFailed(Exception):
    """The physical part could not be done; nothing was committed (retried later)."""


class DoneDespite(Exception):
    """The physical part failed half-way and cannot be taken back: what it changed is in
    place, so the step is committed (the spec then knows of it and its halt method, the
    watchdogs and the fencing feed undo it), and the operator is told why."""

    def __init__(self, why: str, undo: Undo) -> None:
        super().__init__(why)
        self.undo = undo


async def do(agent: Agent, action: Action, *, retiring: bool = False) -> Undo | None:
    """``retiring``: the step ends this node's watchdog for the group (the spec clears
    its ``wd`` bit), so the watchdog's last look for strays comes with it."""
    handler = _HANDLERS.get(action.kind)
    group = agent.s.model.groups[action.group].name
    try:
        undo = await handler(agent, group) if handler is not None else None
    except DoneDespite:
        if retiring:
            sweep(agent, group)
        raise
    if retiring:
        sweep(agent, group)
    return undo


# -- run method ---------------------------------------------------------------------------


async def _acquire_vip(agent: Agent, group: str) -> Undo:
    vip = agent.groups[group].vip

    async def undo() -> None:
        await agent.s.address.remove(vip, agent.name)

    try:
        await agent.s.address.add(vip, agent.name)
    except AddressError as exc:
        # Nothing half-applied: an add that failed after configuring the address (the
        # announcement failed) must not leave it behind, unknown to the store and to the
        # fencing watchdog. The Linux driver takes it off itself; this covers any driver.
        try:
            await agent.s.address.remove(vip, agent.name)
        except AddressError as again:
            if not await _may_hold(agent, vip):
                raise StepFailed(f"{exc}; removing {vip.address} again failed ({again}), "
                                 "but it is not configured") from None
            # The address is on this host and will not come off: counting the step as
            # not done would hide it from the store, the fencing watchdog and the halt
            # method, and let another node take the VIP while it is still here.
            raise DoneDespite(f"{exc}; removing {vip.address} again failed too ({again}): "
                              "it counts as held here, so halting the group or fencing "
                              "the node removes it", undo) from None
        raise StepFailed(str(exc)) from None
    return undo


async def _may_hold(agent: Agent, vip: Vip) -> bool:
    """Whether ``vip`` may be configured on this node; unknown counts as yes."""
    try:
        return await agent.s.address.holds(vip, agent.name)
    except AddressError:
        return True


async def _start_app(agent: Agent, group: str) -> Undo:
    config = agent.groups[group]
    values = agent.values(group)
    instance = await agent.supervisor.start(config, values)
    if instance.spawn_error is not None:
        # Committed anyway: a start that fails is an application that failed at once,
        # reported as a fault so that the restart budget and failover apply.
        log.warning("%s: %s %s", agent.name, group, instance.describe_exit())

    async def undo() -> None:
        await agent.supervisor.stop(config, instance, values)
    return undo


async def _start_monitors(agent: Agent, group: str) -> Undo:
    instance = agent.supervisor.instances.get(group)
    if instance is None:  # the spec says the application runs; it is gone
        instance = Instance(group, "gone", (), exit_code=-9)
    monitors = _monitors(agent, group, instance)
    agent.monitors[group] = monitors
    healthy, why = await monitors.start()
    if not healthy:
        monitors.report(why)

    async def undo() -> None:
        await monitors.stop()
        if agent.monitors.get(group) is monitors:
            del agent.monitors[group]
    return undo


def _monitors(agent: Agent, group: str, instance: Instance) -> MonitorSet:
    return MonitorSet(agent.groups[group], agent.values(group), instance, agent.supervisor,
                      lambda reason: agent.report_fault(group, instance.token, reason))


# -- halt method ----------------------------------------------------------------------------


async def _stop_monitors(agent: Agent, group: str) -> Undo:
    monitors = agent.monitors.pop(group, None)
    if monitors is not None:
        await monitors.stop()
    instance = monitors.instance if monitors is not None else None

    async def undo() -> None:
        if instance is not None:
            again = _monitors(agent, group, instance)
            agent.monitors[group] = again
            again.watch_only()
    return undo


async def _stop_app(agent: Agent, group: str) -> Undo:
    config = agent.groups[group]
    values = agent.values(group)
    instance = agent.supervisor.instances.get(group)
    agent.faults.pop(group, None)
    if instance is not None:
        report = await agent.supervisor.stop(config, instance, values)
        if report.killed:
            reason = (f"the stop of {group} did not finish within "
                      f"{config.app.stop.timeout_ms} ms: killed with SIGKILL")
            if report.survivors:
                reason += f"; still there: {', '.join(map(str, report.survivors))}"
            log.warning("%s: %s", agent.name, reason)
            agent.s.events.emit({"event": "runtime-alert", "group": group,
                                 "node": agent.name, "action": "stop-app", "reason": reason})

    async def undo() -> None:
        await agent.supervisor.start(config, values)
    return undo


async def _release_vip(agent: Agent, group: str) -> Undo:
    vip = agent.groups[group].vip
    await agent.s.address.remove(vip, agent.name)

    async def undo() -> None:
        await agent.s.address.add(vip, agent.name)
    return undo


# -- watchdog and fencing ------------------------------------------------------------------


async def peel(agent: Agent, group: str, *, by: str) -> list[str]:
    """Remove the top layer of what this node holds of ``group``, in halt order (the
    spec's ``_peel``): the monitors, else the application, else the VIP."""
    held = agent.facts.get(group, frozenset())
    cleaned: list[str] = []
    if "mon" in held:
        monitors = agent.monitors.pop(group, None)
        if monitors is not None:
            await monitors.stop()
        cleaned.append("monitors")
    elif "app" in held:
        instance = agent.supervisor.instances.get(group)
        if instance is not None:
            agent.supervisor.kill(instance)
        agent.faults.pop(group, None)
        killed = agent.supervisor.kill_strays(group)
        cleaned.append("application" + (f" (pids {', '.join(map(str, killed))})"
                                        if killed else ""))
    elif "vip" in held:
        await agent.s.address.remove(agent.groups[group].vip, agent.name)
        cleaned.append(f"vip {agent.groups[group].vip.address}")
    if cleaned:
        agent.s.events.emit({"event": by, "group": group, "node": agent.name,
                             "cleaned": cleaned})
        log.info("%s: %s of %s removed %s", agent.name, by, group, ", ".join(cleaned))
    return cleaned


async def _watchdog_clean(agent: Agent, group: str) -> None:
    await peel(agent, group, by="watchdog")
    # No undo: only this node could make the step disabled again (by owning the group),
    # and it does one step at a time per group.


def sweep(agent: Agent, group: str) -> None:
    """Before a watchdog retires, make sure no process of the group survives here except
    the current instance (a daemon that left its process group, a killed start's child):
    they carry the group's mark in their environment."""
    killed = agent.supervisor.kill_strays(group, agent.supervisor.instances.get(group))
    if killed:
        agent.s.events.emit({"event": "watchdog", "group": group, "node": agent.name,
                             "cleaned": [f"stray processes {', '.join(map(str, killed))}"]})
        log.info("%s: watchdog of %s killed stray processes %s", agent.name, group, killed)


async def _fence(agent: Agent, group: str) -> None:
    await peel(agent, group, by="fence")


async def _none_undo(handler: Callable[[Agent, str], Awaitable[None]],
                     agent: Agent, group: str) -> Undo | None:
    await handler(agent, group)
    return None


_HANDLERS: dict[ActionKind, Callable[[Agent, str], Awaitable[Undo | None]]] = {
    ActionKind.ACQUIRE_VIP: _acquire_vip,
    ActionKind.START_APP: _start_app,
    ActionKind.START_MONITORS: _start_monitors,
    ActionKind.STOP_MONITORS: _stop_monitors,
    ActionKind.STOP_APP: _stop_app,
    ActionKind.RELEASE_VIP: _release_vip,
    ActionKind.WATCHDOG_CLEAN: lambda a, g: _none_undo(_watchdog_clean, a, g),
    ActionKind.FENCE: lambda a, g: _none_undo(_fence, a, g),
}
