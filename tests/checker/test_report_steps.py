"""A counterexample's steps say what changed, a node's drain included: drained combines
with down, cut and lost, and a drain of a node that is down changed no status, so the
step showed no change at all."""

from __future__ import annotations

from checker_helpers import G, make_config

from crg.checker.report.steps import changes
from crg.spec import Action, ActionKind, Model, Topology

CONFIG = make_config(3, [G("g", "n1", ("n2", "n3"))], down=2, faults="crash, drain")


def test_a_drain_of_a_node_that_is_down_is_a_change() -> None:
    model = Model(Topology.from_config(CONFIG))
    crashed = model.apply(model.initial(), Action(ActionKind.CRASH, -1, 1))
    drained = model.apply(crashed, Action(ActionKind.DRAIN, -1, 1))
    assert "n2: down → down and drained" in changes(model, crashed, drained)
    assert "n2: up → down" in changes(model, model.initial(), crashed)
    undrained = model.apply(model.apply(model.initial(), Action(ActionKind.DRAIN, -1, 1)),
                            Action(ActionKind.UNDRAIN, -1, 1))
    assert not [c for c in changes(model, model.initial(), undrained) if c.startswith("n2")]


def test_an_application_on_two_nodes_shows_where_it_runs() -> None:
    # app-exclusive broken without fencing: the trace said "app stopping → starting",
    # never that the application ran on both nodes
    from checker_helpers import EXAMPLES

    from crg import files
    from crg.checker import check
    from crg.checker.report.steps import step_views

    report = check(files.load(str(EXAMPLES / "broken" / "no-fencing.crg")))
    exclusive = next(v for v in report.violations if v.prop.label == "app-exclusive")
    last = step_views(exclusive.trace)[-1]
    assert any(c.endswith("(runs on n1,n2)") for c in last.changes), last.changes
