"""The physical part of each step of the cluster service, and how to undo it.

:func:`do` performs the part of ``action`` that touches the machine — an address, a
process, the monitors — *before* the step is committed, so the store never says more
than is true; it returns how to undo it, for when the commit finds the step no longer
enabled. Steps that only change records (claim, notify, release-ownership, alert,
alert-blocked) have no physical part. Which step to take is never decided here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError
from crg.runtime.drivers.monitors import MonitorSet
from crg.runtime.drivers.process import Instance, ProcessTableUnreadable
from crg.spec import Action, ActionKind

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

Undo = Callable[[], Awaitable[None]]


class StepFailed(Exception):
    """The physical part could not be done; nothing was committed (retried later)."""


ABANDONABLE = frozenset({ActionKind.START_MONITORS})
"""Steps whose physical part may be given up half-way, and are then as if never begun.
Starting the monitors waits up to the start timeout (a minute or more) for every check to
pass once; a lane that waits so long for a step the spec no longer wants (the node
drained, the runtime stopping, the lease lost) holds up the halt method. Cancelled, it
stops its monitors again, and nothing else of it exists. The other steps are short, or
must not be left half-way (a stop that sent SIGTERM)."""


class DoneDespite(Exception):
    """The physical part failed half-way and cannot be taken back: what it changed is in
    place, so the step is committed (the spec then knows of it and its halt method, the
    watchdogs and the fencing feed undo it), and the operator is told why."""

    def __init__(self, why: str, undo: Undo) -> None:
        super().__init__(why)
        self.undo = undo


async def do(machine: Machine, action: Action, *, retiring: bool = False,
             notes: list[str] | None = None) -> Undo | None:
    """``retiring``: the step ends this node's watchdog for the group (the spec clears
    its ``wd`` bit), so the watchdog's last look for strays comes with it. ``notes``
    gets what the step's line should say besides its name (``removed monitors``; monitors
    started on an application that is not healthy): the caller logs one line per step."""
    handler = _HANDLERS.get(action.kind)
    group = machine.s.model.groups[action.group].name
    said = notes if notes is not None else []
    try:
        undo = await handler(machine, group, said) if handler is not None else None
    except DoneDespite as done:
        if retiring:
            try:
                sweep(machine, group)
            except StepFailed as blind:  # committed all the same: the operator hears both
                raise DoneDespite(f"{done}; {blind}", done.undo) from None
        raise
    if retiring:
        sweep(machine, group)
    return undo


# -- run method ---------------------------------------------------------------------------


async def _acquire_vip(machine: Machine, group: str, notes: list[str]) -> Undo:
    vip = machine.groups[group].vip

    async def undo() -> None:
        await machine.s.address.remove(vip, machine.name)

    try:
        await machine.s.address.add(vip, machine.name)
    except AddressError as exc:
        # Nothing half-applied: an add that failed after configuring the address (the
        # announcement failed) must not leave it behind, unknown to the store and to the
        # fencing watchdog. The Linux driver takes it off itself; this covers any driver.
        try:
            await machine.s.address.remove(vip, machine.name)
        except AddressError as again:
            if not await _may_hold(machine, vip):
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


async def _may_hold(machine: Machine, vip: Vip) -> bool:
    """Whether ``vip`` may be configured on this node; unknown counts as yes."""
    try:
        return await machine.s.address.holds(vip, machine.name)
    except AddressError:
        return True


async def _start_app(machine: Machine, group: str, notes: list[str]) -> Undo:
    config = machine.groups[group]
    values = machine.values(group)
    instance = await machine.supervisor.start(config, values)
    if instance.spawn_error is not None:
        # Committed anyway: a start that fails is an application that failed at once,
        # reported as a fault so that the restart budget and failover apply.
        log.warning("%s: %s %s", machine.name, group, instance.describe_exit())

    async def undo() -> None:
        await machine.supervisor.stop(config, instance, values)
    return undo


async def _start_monitors(machine: Machine, group: str, notes: list[str]) -> Undo:
    instance = machine.supervisor.instances.get(group)
    if instance is None:  # the spec says the application runs; it is gone
        instance = Instance(group, "gone", (), exit_code=-9)
    monitors = _monitors(machine, group, instance)
    machine.monitors[group] = monitors

    async def undo() -> None:
        await monitors.stop()
        if machine.monitors.get(group) is monitors:
            del machine.monitors[group]

    try:
        healthy, why = await monitors.start()
    except asyncio.CancelledError:
        # Given up while waiting for the first success (see ABANDONABLE), or the agent
        # stops: no undo is handed back, so the monitors must not stay behind.
        await undo()
        raise
    if not healthy:
        # Committed all the same (the monitors run), and the fault follows: the step's
        # line must not read as a service that came up.
        notes.append(f"unhealthy, a fault follows: {why}")
        monitors.report(why)
    return undo


def _monitors(machine: Machine, group: str, instance: Instance) -> MonitorSet:
    return MonitorSet(machine.groups[group], machine.values(group), instance, machine.supervisor,
                      lambda reason: machine.report_fault(group, instance.token, reason))


# -- halt method ----------------------------------------------------------------------------


async def _stop_monitors(machine: Machine, group: str, notes: list[str]) -> Undo:
    monitors = machine.monitors.pop(group, None)
    if monitors is not None:
        await monitors.stop()
    instance = monitors.instance if monitors is not None else None

    async def undo() -> None:
        if instance is not None:
            again = _monitors(machine, group, instance)
            machine.monitors[group] = again
            again.watch_only()
    return undo


async def _stop_app(machine: Machine, group: str, notes: list[str]) -> Undo:
    config = machine.groups[group]
    values = machine.values(group)
    instance = machine.supervisor.instances.get(group)
    machine.faults.pop(group, None)
    if instance is not None:
        report = await machine.supervisor.stop(config, instance, values)
        if report.killed:
            reason = (f"the stop of {group} did not finish within "
                      f"{config.app.stop.timeout_ms} ms: killed with SIGKILL")
            if report.survivors:
                reason += f"; still there: {', '.join(map(str, report.survivors))}"
            machine.runtime_alert(group, "stop-app", reason, once=False)

    async def undo() -> None:
        await machine.supervisor.start(config, values)
    return undo


async def _release_vip(machine: Machine, group: str, notes: list[str]) -> Undo:
    vip = machine.groups[group].vip
    await machine.s.address.remove(vip, machine.name)

    async def undo() -> None:
        await machine.s.address.add(vip, machine.name)
    return undo


# -- watchdog and fencing ------------------------------------------------------------------


async def peel(machine: Machine, group: str, *, by: str) -> list[str]:
    """Remove the top layer of what this node holds of ``group``, in halt order (the
    spec's ``_peel``): the monitors, else the application, else the VIP."""
    held = machine.holdings.get(group)
    cleaned: list[str] = []
    if "mon" in held:
        monitors = machine.monitors.pop(group, None)
        if monitors is not None:
            await monitors.stop()
        cleaned.append("monitors")
    elif "app" in held:
        instance = machine.supervisor.instances.get(group)
        if instance is not None:
            machine.supervisor.kill(instance)
            # Gone before the node says so: a fenced node that let go of its VIP while
            # its application was still being torn down had the next owner's start race
            # a process of its own still in the process table.
            await machine.supervisor.reaped(instance)
        machine.faults.pop(group, None)
        killed = _kill_strays(machine, group, None)
        cleaned.append("application" + (f" (pids {', '.join(map(str, killed))})"
                                        if killed else ""))
    elif "vip" in held:
        await machine.s.address.remove(machine.groups[group].vip, machine.name)
        cleaned.append(f"vip {machine.groups[group].vip.address}")
    if cleaned:
        machine.s.events.emit({"event": by, "group": group, "node": machine.name,
                             "cleaned": cleaned})
        # The step's own line says it (``n1: fence db (removed monitors)``): not twice.
        log.debug("%s: %s of %s removed %s", machine.name, by, group, ", ".join(cleaned))
    return cleaned


def _removed(cleaned: list[str], notes: list[str]) -> None:
    if cleaned:
        notes.append(f"removed {', '.join(cleaned)}")


async def _watchdog_clean(machine: Machine, group: str, notes: list[str]) -> None:
    _removed(await peel(machine, group, by="watchdog"), notes)
    # No undo: only this node could make the step disabled again (by owning the group),
    # and it does one step at a time per group.


def sweep(machine: Machine, group: str) -> None:
    """Before a watchdog retires, make sure no process of the group survives here except
    the current instance (a daemon that left its process group, a killed start's child):
    they carry the group's mark in their environment. A sweep that cannot look fails the
    step (retried later): the watchdog must not retire on a guess."""
    killed = _kill_strays(machine, group, machine.supervisor.instances.get(group))
    if killed:
        machine.s.events.emit({"event": "watchdog", "group": group, "node": machine.name,
                             "cleaned": [f"stray processes {', '.join(map(str, killed))}"]})
        log.info("%s: watchdog of %s killed stray processes %s", machine.name, group, killed)


def _kill_strays(machine: Machine, group: str, keep: Instance | None) -> list[int]:
    try:
        return machine.supervisor.kill_strays(group, keep)
    except ProcessTableUnreadable as exc:
        raise StepFailed(f"cannot look for stray processes of {group}: {exc.strerror}") \
            from None


async def _fence(machine: Machine, group: str, notes: list[str]) -> None:
    _removed(await peel(machine, group, by="fence"), notes)


async def _none_undo(handler: Callable[[Machine, str, list[str]], Awaitable[None]],
                     machine: Machine, group: str, notes: list[str]) -> Undo | None:
    await handler(machine, group, notes)
    return None


_HANDLERS: dict[ActionKind, Callable[[Machine, str, list[str]], Awaitable[Undo | None]]] = {
    ActionKind.ACQUIRE_VIP: _acquire_vip,
    ActionKind.START_APP: _start_app,
    ActionKind.START_MONITORS: _start_monitors,
    ActionKind.STOP_MONITORS: _stop_monitors,
    ActionKind.STOP_APP: _stop_app,
    ActionKind.RELEASE_VIP: _release_vip,
    ActionKind.WATCHDOG_CLEAN: lambda a, g, n: _none_undo(_watchdog_clean, a, g, n),
    ActionKind.FENCE: lambda a, g, n: _none_undo(_fence, a, g, n),
}
