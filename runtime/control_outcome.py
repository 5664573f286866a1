"""What an accepted command came to: :func:`crg.spec.present.commands.shortfall`, read
with what the runtime knows that the spec's state does not say yet.

In maintenance a failure the monitors report is held, not applied: the spec's state
still has the application up, and ``shortfall`` says of an ``offline`` that "its
application still runs" — of a process that is dead. The failure reported is said
instead.

Nothing is decided here: the modes, the bans, the nodes' states are the spec's
(:mod:`crg.spec.present.modes`), the failures reported the monitors'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crg.spec import Model, State
from crg.spec.present.commands import shortfall
from crg.spec.present.modes import placement_of
from crg.spec.present.simulation import Event


def fell_short(model: Model, state: State, event: Event,
               reported: Callable[[str], Sequence[str]]) -> str | None:
    """Why ``event``, accepted and with its groups at rest in ``state``, did not give what
    it asked for (None: it did). ``reported(group)``: the nodes whose monitors reported
    the group's application failed, the failure not applied yet."""
    short = shortfall(model, state, event)
    if short is not None and event.name == "offline":
        group = event.args[0]
        g = model.topology.group_index(group)
        node = placement_of(model, state, g).node
        if model.group_vars(state, g).maintenance and node in reported(group):
            return (f"{group} is in maintenance: its application failed on {node} and is "
                    "not restarted, but the cluster service takes no action for it, so it "
                    f"is not taken offline until crg maintenance off {group}")
    return short
