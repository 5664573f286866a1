"""crg's answer to a scenario: ``crg simulate``'s placement after each event.

The one place the bridge tests import the simulation. A script is simulated one event at
a time (:class:`Replay`), so a generator that picks each event from the placement the
previous ones left pays for every event once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crg.commands.simulate import to_dict
from crg.dsl import Config
from crg.spec.present.commands import refusal
from crg.spec.present.simulation import Event, Simulation, Step


@dataclass(frozen=True, slots=True)
class Where:
    """One group after one event, in the terms both schedulers share."""

    vip: str | None
    """The node holding the VIP."""
    app: str | None
    """The node running the application (None: stopped, e.g. offline mode)."""
    banned: frozenset[str] = field(default=frozenset(), compare=False)
    """crg only: nodes where the group spent its restart budget."""
    target: str | None = field(default=None, compare=False)
    """crg only: the operator's switchover target in force (None: none)."""


Placement = dict[str, Where]


class Replay:
    """``crg simulate``'s run of one configuration, extended an event at a time; after
    each, the placement ``crg simulate --format json`` reports."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.simulation = Simulation(config)
        self.events: list[tuple[str, ...]] = []
        self._last = self.simulation.start()
        self.placements = [self._placement(self._last)]

    def apply(self, event: tuple[str, ...]) -> Placement:
        self._last = self.simulation.step(self._last.state, Event(event[0], tuple(event[1:])))
        self.events.append(event)
        self.placements.append(self._placement(self._last))
        return self.placements[-1]

    def refused(self, event: tuple[str, ...]) -> str | None:
        """Why crg would refuse ``event`` now (None: it is accepted), in the words
        ``crg simulate`` and the operator commands use: the rules decide, not the caller."""
        found = refusal(self.simulation, self._last.state, Event(event[0], tuple(event[1:])))
        return None if found is None else found.reason

    def _placement(self, step: Step) -> Placement:
        document = to_dict(self.simulation, self.config.source.path, [step])
        if document["outcome"] != "settled":
            raise AssertionError(f"crg simulate did not settle on {self.events}")
        model, nodes = self.simulation.model, self.config.cluster.nodes
        placement = {}
        for g, (group, p) in enumerate(document["steps"][0]["placement"].items()):
            variables = model.group_vars(step.state, g)
            placement[group] = Where(p["vip"], p["node"] if p["app"] == "up" else None,
                                     frozenset(n for i, n in enumerate(nodes)
                                               if variables.ban >> i & 1),
                                     nodes[variables.target - 1] if variables.target else None)
        return placement


def simulate(config: Config, events: list[tuple[str, ...]]) -> list[Placement]:
    """The placements, start-up first, then one per event."""
    replay = Replay(config)
    for event in events:
        replay.apply(event)
    return replay.placements
