"""Random small configurations: the symbolic engine's verdicts are the explicit engine's.

Hypothesis draws clusters of 2-3 nodes with 1-3 groups of random kind, failback, fencing,
budget, candidate lists and ``avoid`` links, random fault kinds and ``max_down``; both
engines run, and on every safety invariant "holds" must meet "holds" and "violated" meet
"violated" — liveness included, which z3 refutes with a lasso or the explicit engine's
check decides for these small components. The sizes are kept where the
explicit search takes about a second, so the test stays lean."""

from __future__ import annotations

from checker_helpers import G, explicit, make_config
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crg.checker.result import Verdict
from crg.checker.symbolic.api import ProofOptions, prove
from crg.dsl import Config

FAULTS = ("crash", "app-fault", "switchover", "drain", "partition")


@st.composite
def configs(draw: st.DrawFn) -> Config:
    nodes = draw(st.integers(2, 3))
    names = [f"n{k}" for k in range(1, nodes + 1)]
    count = draw(st.integers(1, 3 if nodes == 2 else 2))
    groups = []
    for j in range(count):
        candidates = draw(st.permutations(names))[:draw(st.integers(1, nodes))]
        # Links among the first two groups only: a third group is its own component.
        avoid = tuple(f"g{h}" for h in range(min(count, 2))
                      if j < 2 and h != j and draw(st.booleans()))
        groups.append(G(f"g{j}", candidates[0], tuple(candidates[1:]),
                        draw(st.sampled_from(("auto", "manual"))),
                        draw(st.sampled_from(("failover", "instance"))),
                        draw(st.sampled_from(("self", "none"))), avoid,
                        draw(st.integers(0, 2))))
    kinds = draw(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2, unique=True))
    if "partition" in kinds and (count > 1 or nodes > 2):
        kinds = ["partition"]  # partitions multiply the states most: alone in bigger ones
    down = draw(st.integers(0, min(2, nodes)))
    return make_config(nodes, groups, down=down, faults=", ".join(kinds))


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_symbolic_agrees_with_explicit(config: Config) -> None:
    report = explicit(config, keep_going=True)
    # every component here is small enough for the explicit engine to decide liveness,
    # some beyond the default cap
    symbolic = prove(config, ProofOptions(facts=False, liveness_states=1_000_000))
    assert symbolic.details["internal_errors"] == []
    expected = {Verdict.HOLDS: "holds", Verdict.VIOLATED: "violated"}
    event("violated" if not report.ok else "safe")
    for prop, found in report.results.items():
        assert found.verdict in expected, (prop.label, found.verdict)
        info = symbolic.details["invariants"][prop.label]
        # every component here is small: what z3 leaves open the explicit search decides
        assert symbolic.verdicts[prop.label] == expected[found.verdict], (prop.label, info)
        if "explicit" in (info.get("decided_by") or ""):
            event(f"decided by the explicit search: {prop.label}")
