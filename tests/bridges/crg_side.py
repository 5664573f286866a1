"""crg's answer to a scenario: ``crg simulate``'s placement after each event.

The one place the bridge tests import the simulation (it is moving into the spec layer:
when it does, only these imports change).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crg.commands.simulate import to_dict
from crg.dsl import Config
from crg.spec.present.simulation import Event, Simulation


@dataclass(frozen=True, slots=True)
class Where:
    """One group after one event, in the terms both schedulers share."""

    vip: str | None
    """The node holding the VIP."""
    app: str | None
    """The node running the application (None: stopped, e.g. offline mode)."""
    banned: frozenset[str] = field(default=frozenset(), compare=False)
    """crg only: nodes where the group spent its restart budget."""


def simulate(config: Config, events: list[tuple[str, ...]]) -> list[dict[str, Where]]:
    """``crg simulate --format json``'s placements, start-up first, then one per event."""
    simulation = Simulation(config)
    steps = simulation.run([Event(e[0], tuple(e[1:])) for e in events])
    document = to_dict(simulation, config.source.path, steps)
    if document["outcome"] != "settled":
        raise AssertionError(f"crg simulate did not settle on {events}")
    model, nodes = simulation.model, config.cluster.nodes
    out = []
    for step, state in zip(document["steps"], (s.state for s in steps), strict=True):
        placement = {}
        for g, (group, p) in enumerate(step["placement"].items()):
            ban = model.group_vars(state, g).ban
            placement[group] = Where(p["vip"], p["node"] if p["app"] == "up" else None,
                                     frozenset(n for i, n in enumerate(nodes) if ban >> i & 1))
        out.append(placement)
    return out
