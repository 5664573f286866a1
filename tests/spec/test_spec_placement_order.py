"""Where groups land does not depend on the order of the group blocks (SPEC.md, section 4).

Hypothesis writes small clusters of groups linked by ``avoid`` — same preferred nodes,
mixed failback, cycles of avoidance — and scripts of crashes and rejoins. The same
configuration with its group blocks in another order must settle every group on the same
node after every event: the cluster service takes its steps in the model's fixed order
(group by group), so before the placement order existed, the group written first could
take a node its avoider should have had.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from spec_helpers import config

from crg.spec import Topology
from crg.spec.invariants.avoided import avoided
from crg.spec.present.modes import placements
from crg.spec.present.simulation import Event, Simulation
from crg.spec.vocabulary.topology import placement_order

NODES = ("n1", "n2", "n3")


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    """Group bodies (one per group), and a script of events."""
    count = draw(st.integers(2, 3))
    names = [f"g{k}" for k in range(count)]
    bodies = []
    for name in names:
        order = draw(st.permutations(NODES))
        candidates = order[:draw(st.integers(2, 3))]
        avoid = [h for h in names if h != name and draw(st.integers(0, 2)) == 0]
        failback = draw(st.sampled_from(("auto", "manual")))
        body = (f"{name}: preferred {candidates[0]} possible {', '.join(candidates[1:])} "
                f"failback {failback}")
        if avoid:
            body += " avoid " + ", ".join(avoid)
        bodies.append(body)
    script = []
    down: set[str] = set()
    for _ in range(draw(st.integers(0, 4))):
        node = draw(st.sampled_from(NODES))
        if node in down:
            script.append(("join", node))
            down.discard(node)
        elif not down:  # at most one node down: every group keeps a candidate
            script.append(("fail", node))
            down.add(node)
    return bodies, script


def where(bodies: list[str], script: list[tuple[str, str]]) -> list[dict[str, str | None]]:
    sim = Simulation(config("nodes " + " ".join(NODES), *bodies))
    steps = sim.run([Event(name, (node,)) for name, node in script])
    return [{g: p.node for g, p in sorted(placements(sim.model, s.state).items())}
            for s in steps]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(clusters())
def test_the_order_of_the_group_blocks_changes_no_placement(
        cluster: tuple[list[str], list[tuple[str, str]]]) -> None:
    bodies, script = cluster
    shuffled = list(reversed(bodies))
    assert where(bodies, script) == where(shuffled, script)


def test_the_example_of_the_issue() -> None:
    # Two groups that prefer n1, the first manual and avoiding the second: both on n1 for
    # good when written in this order, before; now the avoided one takes n1 either way.
    first = "a: preferred n1 possible n2, n3 failback manual avoid b"
    second = "b: preferred n1 possible n2, n3 failback auto"
    for bodies in ([first, second], [second, first]):
        assert where(bodies, [])[-1] == {"a": "n2", "b": "n1"}


def test_a_cycle_of_avoidance_starts_with_the_group_with_the_least_choice() -> None:
    # Two manual groups avoiding each other, one of them on n1 only: whatever their names,
    # that one takes n1 and the other goes to n2. Broken by name alone, a (first by name)
    # took n1 and b had to share it, for good, with n2 free.
    for flexible, fixed in (("a", "b"), ("b", "a")):
        bodies = [f"{flexible}: preferred n1 possible n2 failback manual avoid {fixed}",
                  f"{fixed}: preferred n1 failback manual avoid {flexible}"]
        assert where(bodies, [])[-1] == {flexible: "n2", fixed: "n1"}


def test_an_instance_group_has_the_least_choice() -> None:
    # Its application runs only on its preferred node: in a cycle it goes first, and the
    # failover group that avoids it goes around it (both have two candidates).
    bodies = ["a: preferred n1 possible n2 failback manual avoid b",
              "b: preferred n1 possible n2 failback auto kind instance avoid a"]
    assert where(bodies, [])[-1] == {"a": "n2", "b": "n1"}


def test_a_group_outside_a_cycle_never_breaks_it() -> None:
    # c, on n1 only, avoids b, which is in a cycle with a: c has the least choice of all,
    # but it waits for b like any avoider. Before, a cycle was broken by the least choice
    # among every waiting group: c, in no cycle, went first, before the group it avoids.
    bodies = ["a: preferred n1 possible n2, n3 failback auto avoid b",
              "b: preferred n1 possible n2 failback auto avoid a",
              "c: preferred n1 failback auto avoid b"]
    topology = Topology.from_config(config("nodes " + " ".join(NODES), *bodies))
    order = placement_order(topology.groups)
    a, b, c = (topology.group_index(n) for n in "abc")
    assert order[b] < order[a] < order[c]


@st.composite
def avoid_graphs(draw: st.DrawFn) -> list[str]:
    """Group bodies of up to six groups, with any ``avoid`` links (cycles, chains, groups
    avoiding several) and one to three candidates, some ``instance``."""
    count = draw(st.integers(2, 6))
    names = [f"g{k}" for k in range(count)]
    bodies = []
    for name in names:
        candidates = draw(st.permutations(NODES))[:draw(st.integers(1, 3))]
        body = f"{name}: preferred {candidates[0]}"
        if len(candidates) > 1:
            body += f" possible {', '.join(candidates[1:])}"
        if draw(st.booleans()) and len(candidates) > 1:
            body += " kind instance"
        avoid = [h for h in names if h != name and draw(st.integers(0, 2)) == 0]
        if avoid:
            body += " avoid " + ", ".join(avoid)
        bodies.append(body)
    return bodies


@settings(max_examples=200, deadline=None, derandomize=True)
@given(avoid_graphs())
def test_the_rules_order_is_the_one_the_invariants_state(bodies: list[str]) -> None:
    # The topology's peeling (what may_claim reads) and the invariants' pair-by-pair
    # statement (what failover-order checks claims against) are two readings of SPEC.md
    # section 4; they must agree on every pair of groups one avoids, as must what the rules
    # and the invariants know of each avoided group.
    topology = Topology.from_config(config("nodes " + " ".join(NODES), *bodies))
    for group in topology.groups:
        assert group.avoided() == avoided(group), group.name


def test_a_group_does_not_wait_for_an_avoided_group_in_maintenance() -> None:
    # big is placed first (small avoids it); in maintenance, nobody places it when its
    # node crashes. small waited for it — unplaced, with n2 free — until the maintenance
    # ended, and the checker reported vip-held, failover-order and notify violated.
    sim = Simulation(config("nodes n1 n2\n  assume faults crash, maintenance",
                            "big: preferred n1 possible n2",
                            "small: kind instance failback auto preferred n1 possible n2 "
                            "avoid big"))
    steps = sim.run([Event("maintenance-on", ("big",)), Event("fail", ("n1",))])
    assert not [p for s in steps for p in s.problems]
    final = placements(sim.model, steps[-1].state)
    assert (final["big"].node, final["small"].node) == (None, "n2")
