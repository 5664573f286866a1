"""Partial-order reduction changes no verdict: with and without it the explicit engine
agrees on every example, every broken example and random small configurations — each
property's verdict, and each counterexample's events and length (a reduced search looks
for its counterexamples again without reduction). The dependency it relies on is read off
the rules."""

from __future__ import annotations

import pytest
from checker_helpers import EXAMPLES, G, explicit, make_config, small_configs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crg import files
from crg.checker.explicit.dependency import Dependency
from crg.checker.explicit.explore import Search
from crg.checker.result import CheckReport
from crg.dsl import Config
from crg.spec import Action, ActionKind, Model, Topology

ALL = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.crg"))
FAULTS = ("crash", "app-fault", "switchover", "drain", "partition", "maintenance")


def _summary(report: CheckReport) -> dict[str, tuple[str, tuple[int, int] | None]]:
    return {r.prop.label: (r.verdict.value, None if r.violation is None else
                           (r.violation.failures, r.violation.trace.length))
            for r in report.results.values()}


def _agree(config: Config, keep_going: bool = True,
           cap: int | None = None) -> tuple[CheckReport, CheckReport] | None:
    """Both searches' reports, after checking that they agree; None when the search
    without reduction does not finish within ``cap`` states (nothing to compare)."""
    off = explicit(config, reduction=False, keep_going=keep_going, jobs=1, max_states=cap)
    if not all(c.complete for c in off.components):
        return None
    on = explicit(config, reduction=True, reduction_warmup=0, keep_going=keep_going, jobs=1,
                  max_states=cap)
    assert _summary(on) == _summary(off)
    return on, off


@pytest.mark.parametrize("name", ALL)
def test_reduction_changes_no_verdict_on_the_examples(name: str) -> None:
    # the broken ones as crg check runs them: up to the layer of the first violation
    _agree(files.load(str(EXAMPLES / name)), keep_going=False)


def configs() -> st.SearchStrategy[Config]:
    return small_configs(FAULTS, restarts=1, linked=3, max_down=1,
                         partition_alone_on_three_nodes=False)


RANDOM_CAP = 40_000
"""States: a drawn configuration whose search is larger (a few are: three groups with
maintenance, or two with partitions) is drawn again, so the test stays bounded in time."""


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(configs())
def test_reduction_changes_no_verdict_on_random_configs(config: Config) -> None:
    assume(_agree(config, cap=RANDOM_CAP) is not None)


def test_where_no_event_can_interfere_the_reduction_skips_states() -> None:
    # Two groups linked by avoid and no node event possible (no node may go down): the
    # start-up interleavings of the two groups are explored in one order.
    config = make_config(3, [G("a", "n1", ("n2",)), G("b", "n2", ("n3",), avoid=("a",))],
                         down=0, faults="crash")
    model = Model(Topology.from_config(config))
    reduced = Search(model, reduction=True, keep_going=True)
    full = Search(model, reduction=False, keep_going=True)
    assert reduced.run().states < full.run().states
    assert reduced.reducer is not None and reduced.reducer.reduced > 0
    _agree(config)


def test_the_dependency_is_read_off_the_rules() -> None:
    # b avoids a: b's rules read where a is and what keeps it there, not its VIP
    config = make_config(3, [G("a", "n1", ("n2",)), G("b", "n2", ("n3",), avoid=("a",))])
    dep = Dependency(Model(Topology.from_config(config)))

    def dependent(x: Action, y: Action) -> bool:
        return bool((dep.dependent[dep.index[x]] >> dep.index[y]) & 1)

    a_claim, a_vip = Action(ActionKind.CLAIM, 0, 0), Action(ActionKind.ACQUIRE_VIP, 0, 0)
    b_vip, b_app = Action(ActionKind.ACQUIRE_VIP, 1, 1), Action(ActionKind.START_APP, 1, 1)
    assert dependent(a_claim, b_vip)      # a's owner is what b reads
    assert not dependent(a_vip, b_vip)    # a's VIP is not
    assert dependent(b_vip, b_app)        # two steps of one group always are
    crash = Action(ActionKind.CRASH, -1, 1)
    assert dependent(crash, b_vip)        # the node it runs on
    assert dependent(crash, crash)
