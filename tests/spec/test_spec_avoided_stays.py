"""Whether an avoided group stays where it is (SPEC.md, section 4): a group avoiding it
moves off its node only if it stays there.

An avoided group with automatic failback, away from an available home, is on its way back
and blocks nothing — unless something keeps it where it is: a switchover target of its
own, a ban at home, or maintenance. Before these were read, a group avoiding it shared its
node while a free node was there (``crg simulate examples/anti-affinity.crg --switchover
blue n2`` left blue and green together on n2 with n3 free).
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st
from spec_helpers import bits, config, group, nodes, simulate, topo, view

from crg.spec.invariants.state import free_of_avoided
from crg.spec.present.modes import placements
from crg.spec.rules.placement import avoided_on
from crg.spec.vocabulary.topology import AvoidedGroup

# group 0 avoids group 1, whose home is node 0 (automatic failback) and list 0, 1, 2
T = dataclasses.replace(topo(avoid=(1,)),
                        avoided_groups=(AvoidedGroup(1, 0, True, (0, 1, 2), False),))


def blocks_node_1(**avoided: object) -> bool:
    """Group 1 sits on node 1 with ``avoided`` set: does node 1 count as taken by it?"""
    other = group(owner=2, **avoided)
    return bool(avoided_on(view(T, group(), avoided={1: other}), 1))


def test_an_avoided_group_on_its_way_home_blocks_nothing() -> None:
    assert not blocks_node_1()
    assert not blocks_node_1(target=1)  # sent home: it is leaving too


def test_an_avoided_group_kept_away_from_home_stays() -> None:
    assert blocks_node_1(target=2)  # an operator sent it where it is
    assert blocks_node_1(target=3)  # or elsewhere: it is not going home
    assert blocks_node_1(ban=bits(0))  # it spent its budget at home
    assert blocks_node_1(maintenance=True)  # the cluster service leaves it alone


def test_a_target_that_is_not_in_force_keeps_nobody() -> None:
    assert not blocks_node_1(target=3, ban=bits(2))  # its target is banned


def test_an_avoided_group_with_its_home_out_stays() -> None:
    other = group(owner=2)
    assert avoided_on(view(T, group(), nodes(down=[0]), avoided={1: other}), 1)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(owner=st.integers(0, 3), target=st.integers(0, 3), ban=st.integers(0, 7),
       maintenance=st.booleans(), down=st.integers(0, 7), drained=st.integers(0, 7))
def test_the_invariants_restatement_agrees_with_the_placement(
        owner: int, target: int, ban: int, maintenance: bool, down: int,
        drained: int) -> None:
    # free_of_avoided (normal-mode, failover-order) is written apart from the placement,
    # so that a slip in one is caught by the other; here they must agree everywhere
    other = group(owner=owner, target=target, ban=ban, maintenance=maintenance)
    ns = nodes(down=[n for n in range(3) if down >> n & 1],
               drained=[n for n in range(3) if drained >> n & 1])
    v = view(T, group(), ns, avoided={1: other})
    for c in range(3):
        assert bool(free_of_avoided(v, c)) == (not avoided_on(v, c))


PAIR = ("nodes n1 n2 n3",
        "blue: preferred n1 possible n2, n3 failback auto restarts 0 within 10m",
        "green: preferred n2 possible n3, n1 failback auto avoid blue")


def where(*argv: str) -> dict[str, str | None]:
    sim, steps = simulate(config(*PAIR), *argv)
    return {g: p.node for g, p in placements(sim.model, steps[-1].state).items()}


def test_a_switchover_onto_an_avoiding_group_moves_that_group_away() -> None:
    assert where("--switchover", "blue", "n2") == {"blue": "n2", "green": "n3"}


def test_a_ban_at_home_moves_the_avoiding_group_away() -> None:
    # blue's only local restart is spent: banned at n1, it runs on n2, for good
    assert where("--fault", "blue") == {"blue": "n2", "green": "n3"}


def test_the_avoiding_group_stays_while_the_avoided_one_goes_home() -> None:
    # n1 back: blue goes home by itself, so green had no reason to leave n2 at all
    assert where("--fail", "n1", "--join", "n1") == {"blue": "n1", "green": "n2"}
