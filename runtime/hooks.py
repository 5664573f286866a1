"""Running a receiving group's hooks for one service event, until each has taken it.

Delivery is at least once (README, "Service events and hooks"), and a hook sink that
fails — a command that exits non-zero or is killed at its time limit, a webhook that does
not answer 2xx within its attempts — did not get the event. So it is tried again after
growing pauses (:data:`RETRY_MIN_S`, doubling up to :data:`RETRY_MAX_S`): only the sinks
that failed (one that took the event is not run twice), and while the event stays
unacknowledged (a crash meanwhile makes the next owner run it again). A webhook's
receiver restarting, or a command whose dependency is down for a moment, gets the event
once it is back. Retrying is bounded (:data:`RETRY_FOR_S` per event): a hook that never
works must not hold its group's later events for ever; the event is then given up for
that sink (``ok: false`` in the ``received`` event), as the sink's alert says.

A failing hook sink is a runtime alert about the receiving group (``action`` ``hook sink
KIND TARGET``), once per episode, to that group's alert sinks, shown by ``crg status``,
and ended (``runtime-alert-over``) by the next delivery to it that works — as a failing
alert sink is (:meth:`crg.runtime.machine.Machine.alert`): a receiver that hears nothing
must not look like a cluster with nothing to say.

Retrying stops as soon as the event is no longer this node's to deliver
(``still_ours``: the node lost the receiving group, or the sender dropped the event);
its next owner, or the receiver's gap report, carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from crg.dsl.model import Sink
from crg.runtime.alerting import sink_name
from crg.runtime.drivers.sinks import deliver

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

RETRY_MIN_S = 1.0
RETRY_MAX_S = 15.0
RETRY_FOR_S = 60.0
"""How long one event is tried again on a failing hook sink before it is given up."""


def hook_name(sink: Sink) -> str:
    """``hook sink webhook https://***@hooks.example/x``: the runtime alert's action."""
    return sink_name(sink, "hook")


async def run_hooks(machine: Machine, receiver: str, fields: Mapping[str, Any],
                    still_ours: Callable[[], Awaitable[bool]]) -> list[dict[str, Any]] | None:
    """Deliver ``fields`` (a service event as ``receiver``'s hooks get it) to each of
    ``receiver``'s hook sinks, trying the failing ones again (see the module's
    docstring); what came of each sink, in their order — or None when the event stopped
    being this node's to deliver meanwhile (nothing is to be acknowledged then)."""
    sinks = machine.groups[receiver].hooks
    results: list[dict[str, Any]] = [{} for _ in sinks]
    left = list(range(len(sinks)))
    about = f"{fields.get('event')} of {fields.get('source_group')} (seq {fields.get('seq')})"
    give_up = time.monotonic() + RETRY_FOR_S
    pause, tries = RETRY_MIN_S, 0
    while True:
        tries += 1
        failing = []
        for i in left:
            sink = sinks[i]
            ok, detail = await deliver(sink, fields, machine.values(receiver),
                                       machine.supervisor)
            results[i] = {"sink": sink.kind.value, "ok": ok, "detail": detail}
            if ok:
                machine.trouble_over(receiver, hook_name(sink))
                continue
            failing.append(i)
            machine.runtime_alert(receiver, hook_name(sink), f"{about} not delivered: "
                                  f"{detail}; tried again for up to {RETRY_FOR_S:g} s")
        left = failing
        if not left:
            return results
        if time.monotonic() + pause > give_up:
            for i in left:
                results[i]["detail"] += f" (given up after {tries} tries)"
                log.error("%s: %s for %s given up on %s after %d tries: %s", machine.name,
                          about, receiver, hook_name(sinks[i]), tries, results[i]["detail"])
            return results
        await asyncio.sleep(pause)
        pause = min(2 * pause, RETRY_MAX_S)
        if not await still_ours():
            return None
