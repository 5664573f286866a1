"""Compositional checking decides the same verdicts as checking every group together.

The argument is in SPEC.md ("Compositional checking"); these configurations exercise its
cases: independent groups, groups of several kinds and policies, self-fencing groups in
different components (the one coupling: ``expire`` waits for every self-fencing group of
the node), an unsafe group next to safe ones, and an ``avoid`` component next to a free
group. Each run explores everything (``keep_going``), so "holds" is compared too.
"""

from __future__ import annotations

import pytest
from checker_helpers import G, explicit, make_config
from mutants import COORDINATOR

from crg.checker.components import components, signature
from crg.checker.rename import carry_run
from crg.checker.result import CheckReport, Verdict
from crg.dsl import Config
from crg.spec import ActionKind, Model, Topology

CASES = {
    "independent": make_config(3, [G("a", "n1", ("n2",)),
                                   G("b", "n2", ("n3", "n1"), failback="manual")]),
    "no-standby": make_config(2, [G("a", "n1"), G("b", "n2", ("n1",), kind="instance")]),
    "app-faults": make_config(2, [G("a", "n1", ("n2",)), G("b", "n2", ("n1",), kind="instance")],
                              faults="app-fault"),
    "fencing-both": make_config(2, [G("a", "n1", ("n2",)), G("b", "n2", ("n1",))],
                                faults="partition"),
}


def verdicts(report: CheckReport) -> dict[str, tuple[Verdict, int | None]]:
    """Per property: the verdict and, for a violation, the events in its counterexample
    (shortest in events in both runs; the steps differ, since a monolithic run must also
    settle the other groups)."""
    return {p.label: (r.verdict, r.violation.failures if r.violation else None)
            for p, r in report.results.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compositional_equals_monolithic(name: str) -> None:
    config = CASES[name]
    composed = explicit(config, compose=True, keep_going=True, symmetry=False)
    whole = explicit(config, compose=False, keep_going=True, symmetry=False)
    assert len(composed.components) == len(config.groups) > 1
    assert verdicts(composed) == verdicts(whole)
    assert composed.states < whole.states


def test_unsafe_group_found_in_both() -> None:
    # One group without fencing under partitions, one with: the first violations (after
    # one event) agree; the searches stop after that layer.
    config = make_config(2, [G("a", "n1", ("n2",)), G("b", "n2", ("n1",), fencing="none")],
                         faults="crash, partition")
    composed = explicit(config, compose=True)
    whole = explicit(config, compose=False)
    found = {v.prop.label: (v.group, v.failures) for v in composed.violations}
    assert found == {v.prop.label: (v.group, v.failures) for v in whole.violations}
    assert found["vip-unique"] == ("b", 1)


def test_avoid_links_form_one_component() -> None:
    config = make_config(3, [G("a", "n1", ("n2",), avoid=("c",)), G("b", "n2", ("n1",)),
                             G("c", "n1", ("n3",)), G("d", "n3", ("n1",), avoid=("b",))])
    assert components(Topology.from_config(config)) == [(0, 2), (1, 3)]


def test_components_of_a_config_without_groups() -> None:
    config: Config = make_config(2, [])
    report = explicit(config)
    assert report.states == 0
    assert all(r.verdict is Verdict.HOLDS for r in report.results.values())


def test_a_coordinators_step_is_carried_to_an_isomorphic_component(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The violation needs the coordinator's service down; reusing a's result for b must
    # find b's coordinator, not rename a's.
    COORDINATOR.apply(monkeypatch)
    report = explicit(COORDINATOR.config, keep_going=True)
    assert report.components[1].reused_from == ("a",)
    assert COORDINATOR.breaks <= {v.prop.label for v in report.violations}
    monolithic = explicit(COORDINATOR.config, keep_going=True, compose=False,
                                                            symmetry=False)
    assert ({v.prop.label for v in report.violations}
            == {v.prop.label for v in monolithic.violations})
    # The step itself: a's trace carried to b has b's coordinator send the down.
    topology = Topology.from_config(COORDINATOR.config)
    v = next(v for v in report.violations if v.prop.label == "last-node-alert")
    assert v.group == "a"
    a, b = (signature(topology, (g,)) for g in (0, 1))
    actions = [s.action for s in v.trace.steps[1:] if s.action is not None]
    carried = carry_run(v.trace.model, Model(topology.restrict((1,))),
                        dict(zip(a.node_order, b.node_order, strict=True)), actions)
    down = [(x.action, y.action) for x, y in zip(v.trace.steps[1:], carried[1:], strict=True)
            if x.action is not None and x.action.kind is ActionKind.NOTIFY_DOWN]
    assert [(x.node, y.node) for x, y in down] == [(1, 0)]  # n2 for a, n1 for b
