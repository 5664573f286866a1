"""``crg conform`` beyond the configuration's failure assumption (README, "crg conform"):
an operator may crash more nodes than ``assume at most K nodes down``; the invariants that
only hold within the assumption (``notify``: with every node down nobody can send a
*service down*) are not held against the runtime there, and are within it."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_helpers import GROUPS, eventually, placement, quickstart, run, running

from crg.dsl.model import Fault
from crg.runtime.conform import NODE_EVENTS, step_problem
from crg.runtime.operator import OPERATOR_EVENTS
from crg.spec import Action, ActionKind, Model, State
from crg.spec.present.modes import nodes_out

pytestmark = pytest.mark.timeout(90)


def settle(model: Model, state: State) -> State:
    """The cluster service's first enabled step, until none is (bounded)."""
    for _ in range(1000):
        steps = model.system_successors(state)
        if not steps:
            return state
        state = steps[0][1]
    raise AssertionError("the cluster service did not settle")


def test_notify_is_checked_within_the_assumption_only(tmp_path: Path) -> None:
    config = quickstart(tmp_path).config
    assert config.cluster.max_down == 1
    model = Model.from_config(config, max_down=3, faults=frozenset(Fault))
    state = settle(model, model.initial())
    for node in (0, 1):
        state = settle(model, model.apply(state, Action(ActionKind.CRASH, -1, node)))
    last = Action(ActionKind.CRASH, -1, 2)
    after = model.apply(state, last)
    assert nodes_out(model, after) == 3 and model.is_quiescent(after)
    # Every node down: web's last event says up, and nobody is left to say down.
    broken = step_problem(model, last, state, after, None, max_down=3)
    assert broken == "leads to a settled state that breaks notify for web"
    assert step_problem(model, last, state, after, None, max_down=1) is None
    assert step_problem(model, last, state, after, None) == broken


def test_an_embedded_trace_where_every_node_crashed_conforms(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)

    async def body() -> None:
        async with running(setup) as cluster:  # checks the trace with crg conform's rules
            await eventually(lambda: all(placement(cluster, g)[2] == "up" for g in GROUPS),
                             20, "every group up")
            for node in ("n1", "n2", "n3"):
                await cluster.crash(node)
                await eventually(lambda n=node: any(
                    a.kind is ActionKind.CRASH and a.node == cluster.nodes.index(n)
                    for a, _, _ in cluster.recorder.transitions), 10, f"{node}'s crash noticed")
            await eventually(lambda: cluster.model.is_quiescent(cluster.recorder.state), 10,
                             "settled with every node down")
            assert all(placement(cluster, g)[1] == "down" for g in GROUPS)

    run(body())


def test_a_node_trace_may_hold_every_operator_command() -> None:
    """Whatever a node's control socket accepts, that node records in its own trace, and
    crg conform must take it there (maintenance and cleanup were refused at first)."""
    kinds = {kind.label: kind for kind in ActionKind}
    assert {name for name in OPERATOR_EVENTS if kinds[name] not in NODE_EVENTS} == set()
