"""What makes large configurations cheap must not change any verdict: proving a component
on its candidates and k other nodes, proving each shape of component once, and proving
components apart. Each is compared with the plain proof, on safe and broken configs."""

from __future__ import annotations

import functools

import pytest
from checker_helpers import EXAMPLES, G, make_config, proof_of_example
from mutants import COORDINATOR

from crg.checker.symbolic.api import ProofOptions, SymbolicReport, prove
from crg.checker.symbolic.reduction import footprint_holds, reduce_nodes
from crg.dsl import Config
from crg.spec import Topology

SIX_NODES = make_config(6, [
    G("a", "n1", ("n2",)),
    G("b", "n3", (), fencing="none"),
    G("c", "n4", ("n5",), avoid=("d",)),
    G("d", "n5", ("n4",), kind="instance", avoid=("c",)),
    G("e", "n2", ("n1",)),
], faults="crash, partition")


def verdicts(config: Config, **options: bool) -> dict[str, str]:
    result: SymbolicReport = prove(config, ProofOptions(facts=False, **options))
    assert result.details["internal_errors"] == []
    return result.verdicts


@functools.cache
def _six_nodes_verdicts() -> dict[str, str]:
    """``verdicts(SIX_NODES)`` with every shortcut on: the reference both shortcuts are
    compared with, proved once per process (the proof is a pure function of the config;
    the ``six-nodes`` group keeps its two users in one process under ``pytest -n``)."""
    return verdicts(SIX_NODES)


def test_reduction_keeps_candidates_and_k_others() -> None:
    topology = Topology.from_config(SIX_NODES).restrict((0,))
    assert footprint_holds(topology, 30_000)
    reduced, kept = reduce_nodes(topology)
    assert kept == (0, 1, 2)  # n1, n2 and one other node, for at most one node down
    assert reduced.nodes == ("n1", "n2", "n3")
    assert reduced.groups[0].candidates == (0, 1)


THREE_GROUPS = make_config(3, [G("a", "n1", ("n2",)),
                               G("b", "n3", ("n1",), failback="manual", avoid=("a",)),
                               G("c", "n3")])


@pytest.mark.xdist_group("six-nodes")
@pytest.mark.parametrize("option", ["reduce", "symmetry"])
def test_shortcuts_change_no_verdict(option: str) -> None:
    plain = verdicts(SIX_NODES, **{option: False})
    assert _six_nodes_verdicts() == plain
    # b has one candidate and partitions happen. (c and d, avoiding each other, used to
    # settle swapped; an avoided group away from home no longer blocks a node.)
    assert {k for k, v in plain.items() if v == "violated"} == {"coverage"}


def test_components_apart_or_together_agree() -> None:
    # All groups in one model is far costlier to search (a settled state needs every
    # group settled), hence a smaller config here.
    together = verdicts(THREE_GROUPS, compose=False)
    assert verdicts(THREE_GROUPS) == together
    assert {k for k, v in together.items() if v == "violated"} == {"coverage"}


@pytest.mark.xdist_group("rac")  # its proof is test_symbolic_examples.py's of rac.crg
def test_each_shape_is_proved_once() -> None:
    result = proof_of_example(str(EXAMPLES / "rac.crg"))
    reused = [c["reused_from"] for c in result.details["components"]]
    assert reused == [None, ["inst1"], ["inst1"]]


def test_the_explicit_checkers_options_are_accepted() -> None:
    result = prove(THREE_GROUPS, ProofOptions(max_down=0, symmetry=False))
    assert result.details["options"]["max_down"] == 0
    assert result.details["options"]["symmetry"] is False
    assert result.verdicts["coverage"] == "holds"


def test_a_coordinators_step_is_carried_to_a_component_of_the_same_shape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    COORDINATOR.apply(monkeypatch)
    result = prove(COORDINATOR.config, ProofOptions(facts=False, liveness_states=0,
                                                   lasso_depth=0))
    assert result.details["internal_errors"] == []
    assert [c["reused_from"] for c in result.details["components"]] == [None, ["a"]]
    assert result.verdicts["last-node-alert"] == "violated"
