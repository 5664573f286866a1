"""Operator commands (``switchover``, ``offline``, ``online``, ``drain``, ``undrain``)
as the spec's environment events, shared by the embedded and the one-node runtime.

The spec accepts a group command only while the group is settled (SPEC.md: no command
lands in the middle of a move). An operator should not have to time it, so a command
that arrives while its group is moving waits, bounded, for the group to settle.
"""

from __future__ import annotations

import time

from crg.runtime.commit import RACE, ActorOf, Services, commit, read_state
from crg.runtime.notices import extra_for
from crg.spec.present.simulation import Event, ScenarioError, Simulation
from crg.spec.rules.roles import settled

SETTLE_WAIT_S = 10.0

OPERATOR_EVENTS = ("switchover", "offline", "online", "drain", "undrain")


class CommandError(Exception):
    """An operator command that cannot be carried out (exit code 2 for the client)."""


async def operate(services: Services, simulation: Simulation, actor_of: ActorOf, name: str,
                  args: tuple[str, ...]) -> str:
    event = Event(name, args)
    try:
        simulation.check_names(event)
    except ScenarioError as exc:
        raise CommandError(str(exc).removeprefix("--")) from None
    deadline = time.monotonic() + SETTLE_WAIT_S
    while True:
        actor = actor_of() if callable(actor_of) else actor_of
        snap, state = await read_state(services, actor)
        action = simulation.action(state, event)
        outcome = await commit(services, actor_of, action,
                               extra_for(services, action, actor.node or "runtime",
                                         "operator"))
        if outcome.committed:
            return f"{name} {' '.join(args)}: done"
        moving = outcome.why == RACE or (
            action.group >= 0 and not settled(services.model.view(outcome.before,
                                                                  action.group)))
        if not moving or time.monotonic() > deadline:
            reason = simulation.why_not(outcome.before, event)
            if moving:
                reason = f"{args[0]} did not settle within {SETTLE_WAIT_S:g} s ({reason})"
            raise CommandError(f"{name} {' '.join(args)}: {reason}")
        await services.store.wait(services.keys.prefix, snap.revision, 200)
