"""Run a scenario through crg and through Pacemaker's scheduler, and compare, event by event.

Both answers are reduced to what both schedulers decide for every group after every
event: the node holding the VIP and the node running the application (none in offline
mode). The first step where they differ is the scenario's disagreement; later steps start
from different states and say nothing more. Operator commands are replayed with
Pacemaker's own: ``switchover G N`` is ``crm_resource --move``, ``clear G`` is
``crm_resource --clear`` (the Pacemaker group of crg group G is named G).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from crg_side import Placement, Where, simulate
from diff_scenarios import MONITOR_MS, Scenario
from pacemaker_scheduler import Cluster

from crg.bridges.cib_writer import cib_xml
from crg.bridges.to_pacemaker import to_pacemaker


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    crg: list[Placement]
    pacemaker: list[Placement]
    """Up to and including the first difference (the replay stops there), unless the
    whole script was asked for."""
    calls: int
    """crm_simulate runs it took."""

    @property
    def first_difference(self) -> int | None:
        for index, (ours, theirs) in enumerate(zip(self.crg, self.pacemaker, strict=False)):
            if ours != theirs:
                return index
        assert len(self.pacemaker) == len(self.crg), "a replay stopped with no difference"
        return None

    def differing_groups(self, step: int) -> list[str]:
        return [g for g in self.crg[step] if self.crg[step][g] != self.pacemaker[step][g]]

    def describe(self, step: int) -> str:
        rows = [f"  {g}: crg vip {self.crg[step][g].vip} app {self.crg[step][g].app}; "
                f"pacemaker vip {self.pacemaker[step][g].vip} app "
                f"{self.pacemaker[step][g].app}" for g in self.crg[step]]
        event = "start-up" if step == 0 else " ".join(self.scenario.events[step - 1])
        return (f"{self.scenario.describe()}\nfirst difference after step {step} ({event}):\n"
                + "\n".join(rows))


def run(scenario: Scenario, *, whole: bool = False) -> Outcome:
    """``whole``: replay every event, also past the first difference (a cause's variant
    of a scenario is compared with the original at a step of its own choosing)."""
    config = scenario.config
    crg = scenario.crg if scenario.crg is not None else simulate(config, scenario.events)
    exported, _ = to_pacemaker(config)
    groups = [g.name for g in config.groups]
    with tempfile.TemporaryDirectory(prefix="crg-pacemaker-") as workdir:
        cluster, resources = Cluster.start(cib_xml(exported, []), config.cluster.nodes,
                                           Path(workdir))
        pacemaker = [_placement(resources, groups)]
        for index, event in enumerate(scenario.events):
            if not whole and pacemaker[-1] != crg[index]:
                break
            kind, name = event[0], event[1]
            if kind == "fail":
                resources = cluster.crash(name)
            elif kind == "join":
                resources = cluster.rejoin(name)
            elif kind == "cleanup":
                resources = cluster.cleanup(f"{name}-app", event[2])
            elif kind == "switchover":
                # crg takes a switchover only away from the group's node, and so far
                # Pacemaker placed every group where crg did.
                assert pacemaker[-1][name].vip != event[2], (scenario.describe(), index)
                resources = cluster.move(name, event[2])
            elif kind == "clear":
                resources = cluster.clear(name)
            else:
                # The application fails where crg runs it (and, so far, Pacemaker too).
                node = crg[index][name].app
                assert node is not None, (scenario.describe(), index)
                resources = cluster.fault(f"{name}-app", MONITOR_MS, node)
            pacemaker.append(_placement(resources, groups))
        return Outcome(scenario, crg, pacemaker, cluster.calls)


def _placement(resources: dict[str, str], groups: list[str]) -> Placement:
    return {g: Where(resources.get(f"{g}-vip"), resources.get(f"{g}-app")) for g in groups}
