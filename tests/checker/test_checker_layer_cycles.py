"""The explicit engine's liveness check skips the SCC decomposition of a layer whose
system graph has no cycle; the cycle test it relies on must never miss one."""

from __future__ import annotations

import random
from array import array

import networkx as nx
import pytest

from crg.checker.explicit.liveness import acyclic


def edges(pairs: list[tuple[int, int]]) -> tuple[array[int], array[int]]:
    return array("I", [a for a, _ in pairs]), array("I", [b for _, b in pairs])


def test_a_chain_and_a_diamond_have_no_cycle() -> None:
    assert acyclic(*edges([(1, 2), (2, 3), (1, 3), (3, 4)]))
    assert acyclic(*edges([]))


def test_a_self_loop_and_a_long_cycle_are_cycles() -> None:
    assert not acyclic(*edges([(5, 5)]))
    assert not acyclic(*edges([(1, 2), (2, 3), (3, 4), (4, 2), (0, 1)]))


@pytest.mark.parametrize("seed", range(40))
def test_it_agrees_with_networkx_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 30)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(1, 2 * n))]
    graph = nx.DiGraph(pairs)
    assert acyclic(*edges(pairs)) == nx.is_directed_acyclic_graph(graph)
