"""``--engine auto`` predicts a component's size from its groups alone
(:mod:`crg.checker.explicit.predict`): the estimate, a small component still searched
explicitly, a large one handed to z3 unsearched, and the explicit search as before where
z3 leaves a property open."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checker_helpers import EXAMPLES, G, make_config

from crg import files
from crg.checker import Options, Status, Verdict, check
from crg.checker.components import components
from crg.checker.explicit import engine as explicit_engine
from crg.checker.explicit import predict as predict_module
from crg.checker.explicit.explore import Search
from crg.checker.explicit.predict import Prediction, predict
from crg.checker.symbolic import component as symbolic_component
from crg.checker.symbolic.ranking import Attempt
from crg.spec import Model, Topology

ANTI_AFFINITY = files.load(str(EXAMPLES / "anti-affinity.crg"))
NO_RANKING = Attempt(None, "none, for the test")
FLAPPING = files.load(str(EXAMPLES / "broken" / "flapping.crg"))
WEB_TIER_AVOID = files.load(str(EXAMPLES.parent / "benchmarks" / "configs"
                                / "web-tier-avoid.crg"))


def _pair(config: object) -> Topology:
    topology = Topology.from_config(config)  # type: ignore[arg-type]
    (part,) = [p for p in components(topology) if len(p) > 1]
    return topology.restrict(part)


def test_the_estimate_is_the_product_of_the_groups_over_the_node_statuses() -> None:
    pair = _pair(ANTI_AFFINITY)
    guess = predict(pair, 10**9)
    # blue and green alone: 74 states each, over 4 node statuses (none or one of 3 down)
    assert (guess.solo, guess.node_statuses) == ((74, 74), 4)
    assert guess.estimate == 74 * 74 // 4 and not guess.beyond
    real = Search(Model(pair), liveness=False).run().states
    assert guess.estimate <= real <= 4 * guess.estimate


def test_only_whether_it_is_beyond_the_limit_is_searched_for() -> None:
    guess = predict(_pair(WEB_TIER_AVOID), 600_000)
    assert guess.beyond and guess.estimate > 600_000
    # each group's search stops near the square root of 600,000 x the node statuses
    assert guess.searched < 5_000


def test_a_small_pair_is_still_searched_explicitly() -> None:
    report = check(ANTI_AFFINITY)
    assert report.status is Status.OK and report.symbolic is None
    assert report.explicit is not None and report.explicit.states == 4_488
    assert not any(c.predicted for c in report.explicit.components)


def test_a_livelock_of_a_small_component_is_still_found_with_its_trace() -> None:
    report = check(FLAPPING)
    assert report.status is Status.VIOLATED
    (violation,) = [v for v in report.violations if v.prop.liveness]
    assert violation.trace.loop is not None and violation.trace.length == 11


def test_a_pair_predicted_too_large_goes_to_z3_without_a_search() -> None:
    report = check(ANTI_AFFINITY, Options(auto_states=1_000, jobs=1))
    assert report.status is Status.OK
    assert report.explicit is not None and report.symbolic is not None
    (pair,) = [c for c in report.explicit.components if len(c.groups) == 2]
    # each group's search stopped once the product was beyond 1,000: a lower bound of E
    assert pair.limit == "auto" and pair.states == 0 and 1_000 < pair.predicted <= 1_369
    liveness = next(r for r in report.results.values() if r.prop.liveness)
    assert (liveness.verdict, liveness.engine) == (Verdict.HOLDS, "z3")


def test_what_z3_leaves_open_is_searched_as_without_the_prediction(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # z3 without its ranking function or an explicit fallback leaves liveness open; the
    # (wrong) prediction, beyond 600,000 states but not 4 times beyond, must not cost the
    # verdict the explicit search gives
    monkeypatch.setattr(explicit_engine, "predict", _predicted_beyond(600_000))
    monkeypatch.setattr(predict_module, "predict", _predicted_beyond(600_000))
    monkeypatch.setattr(symbolic_component, "rank", lambda *args: NO_RANKING)
    report = check(ANTI_AFFINITY, Options(jobs=1, liveness_states=0))
    assert report.status is Status.OK
    assert report.explicit is not None and report.explicit.states == 4_488
    (pair,) = report.explicit.components
    assert pair.limit == "" and pair.predicted == 0 and pair.states == 4_488
    liveness = next(r for r in report.results.values() if r.prop.liveness)
    assert (liveness.verdict, liveness.engine) == (Verdict.HOLDS, "explicit")


def test_a_component_predicted_far_beyond_the_limit_is_not_searched_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explicit_engine, "predict", _predicted_beyond(10**12))
    monkeypatch.setattr(predict_module, "predict", _predicted_beyond(10**12))
    monkeypatch.setattr(symbolic_component, "rank", lambda *args: NO_RANKING)
    report = check(ANTI_AFFINITY, Options(jobs=1, liveness_states=0))
    assert report.status is Status.INCONCLUSIVE
    assert report.explicit is not None and report.explicit.states == 0
    assert report.undecided == ["vip-held (liveness)"]


def _predicted_beyond(states: int) -> Callable[[Topology, int], Prediction]:
    """A stand-in for ``predict``: every component has ``states`` states."""
    def guess(topology: Topology, limit: int) -> Prediction:
        return Prediction(states, states > limit, (0, 0), 1, 0)

    return guess


def test_nodes_nobody_may_use_are_counted_as_the_search_merges_them() -> None:
    # the search makes nodes outside every candidate list interchangeable (symmetry), so
    # 16 nodes predict what the candidates and one other node do
    def pair(nodes: int) -> Topology:
        return _pair(make_config(nodes, [G("a", "n1", ("n2", "n3"), avoid=("b",)),
                                         G("b", "n2", ("n1", "n3"), avoid=("a",))]))

    wide, narrow = predict(pair(16), 10**9), predict(pair(4), 10**9)
    assert (wide.solo, wide.node_statuses) == (narrow.solo, narrow.node_statuses)


LONE = make_config(3, [G("a", "n1", ("n2", "n3"))], down=1,
                   faults="crash, app-fault, switchover, drain")
"""One group with two standbys and operator events: 9,535 states."""


def test_a_lone_group_beyond_its_first_search_goes_to_z3(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A lone group has nothing smaller to predict its size from: it is searched up to
    # SOLO_PROBE states first (50,000 by default; 100 here), then proved by z3.
    monkeypatch.setattr(explicit_engine, "SOLO_PROBE", 100)
    report = check(LONE, Options(jobs=1))
    assert report.status is Status.OK and report.symbolic is not None
    assert report.explicit is not None
    (lone,) = report.explicit.components
    assert lone.limit == "auto" and lone.probed and 100 <= lone.states < 9_535
    liveness = next(r for r in report.results.values() if r.prop.liveness)
    assert (liveness.verdict, liveness.engine) == (Verdict.HOLDS, "z3")


def test_what_z3_leaves_open_of_a_lone_group_is_searched_in_full(
        monkeypatch: pytest.MonkeyPatch) -> None:
    full = check(LONE, Options(jobs=1))
    assert full.explicit is not None and full.symbolic is None  # within the probe
    monkeypatch.setattr(explicit_engine, "SOLO_PROBE", 100)
    monkeypatch.setattr(symbolic_component, "rank", lambda *args: NO_RANKING)
    report = check(LONE, Options(jobs=1, liveness_states=0))
    assert report.status is Status.OK
    assert report.explicit is not None
    (lone,) = report.explicit.components
    assert lone.limit == "" and not lone.probed and lone.states == full.explicit.states
    liveness = next(r for r in report.results.values() if r.prop.liveness)
    assert (liveness.verdict, liveness.engine) == (Verdict.HOLDS, "explicit")
