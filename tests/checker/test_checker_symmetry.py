"""Symmetry reduction: detected from the topology, canonical within each orbit, and the
verdicts are the same with and without it."""

from __future__ import annotations

import itertools

import pytest
from checker_helpers import G, explicit, make_config

from crg.checker.explicit.explore import Search
from crg.checker.explicit.symmetry import (
    GROUP_MASKS,
    GROUP_REFS,
    GROUP_SCALARS,
    Symmetry,
    _permute_group,
    _permute_nodes,
    interchangeable_groups,
    interchangeable_nodes,
)
from crg.checker.result import CheckReport, Verdict
from crg.spec import GroupVars, Model, State, Topology

# Two groups on n1-n2 in a five-node cluster: n3, n4, n5 only use up the failure budget.
SPARE_NODES = make_config(5, [G("a", "n1", ("n2",)), G("b", "n2", ("n1",), kind="instance")],
                          down=2, faults="crash, partition")
# Two identical groups (and a third that is not): interchangeable in a monolithic run.
TWINS = make_config(3, [G("a", "n1", ("n2",)), G("b", "n1", ("n2",)), G("c", "n3")])


def verdicts(report: CheckReport) -> dict[str, tuple[Verdict, int | None, int | None]]:
    return {p.label: (r.verdict, r.violation.failures if r.violation else None,
                      r.violation.trace.length if r.violation else None)
            for p, r in report.results.items()}


def test_the_symmetry_module_knows_every_group_variable() -> None:
    assert set(GroupVars._fields) == set(GROUP_MASKS) | set(GROUP_REFS) | set(GROUP_SCALARS)


def test_detection() -> None:
    spare = Topology.from_config(SPARE_NODES)
    assert interchangeable_nodes(spare) == (2, 3, 4)
    assert interchangeable_groups(spare) == ()
    twins = Topology.from_config(TWINS)
    assert interchangeable_groups(twins) == ((0, 1),)
    # Preference order breaks node symmetry: no two candidates of a group are alike.
    assert interchangeable_nodes(twins) == ()
    avoiding = Topology.from_config(make_config(
        3, [G("a", "n1", ("n2",), avoid=("b",)), G("b", "n1", ("n2",))]))
    assert interchangeable_groups(avoiding) == ()


def _reachable(model: Model, limit: int) -> list[State]:
    search = Search(model, liveness=False, max_events=3)
    search.run()
    return search.states[:limit]


@pytest.mark.parametrize("config", [SPARE_NODES, TWINS], ids=["nodes", "groups"])
def test_canonical_form_is_one_per_orbit(config: object) -> None:
    model = Model(Topology.from_config(config))  # type: ignore[arg-type]
    sym = Symmetry.detect(model)
    assert sym is not None
    node_perms = [dict(zip(sym.nodes, p, strict=True))
                  for p in itertools.permutations(sym.nodes)] or [{}]
    for state in _reachable(model, 300):
        canonical = sym.canon(state)
        nv = model.node_vars(state)
        groups = [model.group_vars(state, g) for g in range(len(model.groups))]
        images = set()
        for perm in node_perms:
            moved = [_permute_group(gv, perm) for gv in groups]
            for cls in sym.groups or [()]:
                for order in itertools.permutations(cls):
                    swapped = list(moved)
                    for old, new in zip(cls, order, strict=True):
                        swapped[new] = moved[old]
                    images.add(model.encode(_permute_nodes(nv, perm), swapped))
        assert canonical in images  # canonical form stays in the orbit...
        assert {sym.canon(image) for image in images} == {canonical}  # ...and is unique


@pytest.mark.parametrize(("config", "compose"), [(SPARE_NODES, True), (TWINS, False)],
                         ids=["nodes", "groups"])
def test_same_verdicts_fewer_states(config: object, compose: bool) -> None:
    on = explicit(config, compose=compose, symmetry=True,  # type: ignore[arg-type]
                                        keep_going=True)
    off = explicit(config, compose=compose, symmetry=False,  # type: ignore[arg-type]
                                         keep_going=True)
    assert verdicts(on) == verdicts(off)
    assert on.states < off.states
    assert any(c.symmetry for c in on.components)


def test_isomorphic_components_are_explored_once() -> None:
    config = make_config(3, [G("a", "n1", ("n2",)), G("b", "n2", ("n3",)),
                             G("c", "n3", ("n1",), failback="manual")], faults="crash")
    report = explicit(config)
    assert [c.reused_from for c in report.components] == [None, ("a",), None]
    assert report.states == report.components[0].states + report.components[2].states
    off = explicit(config, symmetry=False)
    assert verdicts(report) == verdicts(off)


def test_a_violation_carried_over_is_renamed_and_replayed() -> None:
    # b is a's mirror image; a's counterexample becomes b's, on b's nodes.
    config = make_config(2, [G("a", "n1", ("n2",), fencing="none"),
                             G("b", "n2", ("n1",), fencing="none")], faults="partition")
    report = explicit(config, keep_going=True)
    assert report.components[1].reused_from == ("a",)
    off = explicit(config, keep_going=True, symmetry=False)
    assert verdicts(report) == verdicts(off)


UNFENCED_TWINS = make_config(2, [G("a", "n1", ("n2",), fencing="none"),
                                 G("b", "n1", ("n2",), fencing="none")], faults="partition")


def test_a_violation_is_blamed_on_the_group_its_trace_breaks() -> None:
    # The search keeps canonical states, where the twin that moved may sit in the other
    # group's place; the group named must be the one of the real trace shown.
    report = explicit(UNFENCED_TWINS, compose=False, keep_going=True)
    assert report.violations
    for v in report.violations:
        model, final = v.trace.model, v.trace.steps[-1].state
        group = model.topology.group_index(v.group)
        if v.kind == "state":
            assert (v.prop.name, group) in model.state_problems(final, model.is_quiescent(final))
        else:
            last = v.trace.steps[-1].action if v.kind == "step" else v.trace.loop_action
            assert last is not None and last.group == group
        moved = {s.action.group for s in v.trace.steps[1:]
                 if s.action is not None and s.action.group >= 0}
        assert group in moved, (v.prop.label, v.group)
