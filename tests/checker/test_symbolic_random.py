"""Random small configurations: the symbolic engine's verdicts are the explicit engine's.

Hypothesis draws clusters of 2-3 nodes with 1-3 groups of random kind, failback, fencing,
budget, candidate lists and ``avoid`` links, random fault kinds and ``max_down``; both
engines run, and on every safety invariant "holds" must meet "holds" and "violated" meet
"violated" — liveness included, which z3 refutes with a lasso or the explicit engine's
check decides for these small components. The sizes are kept where the
explicit search takes about a second, so the test stays lean."""

from __future__ import annotations

from checker_helpers import explicit, small_configs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crg.checker.result import Verdict
from crg.checker.symbolic.api import ProofOptions, prove
from crg.dsl import Config

FAULTS = ("crash", "app-fault", "switchover", "drain", "partition")


def configs() -> st.SearchStrategy[Config]:
    # avoid links among the first two groups only: a third group is its own component
    return small_configs(FAULTS, restarts=2, linked=2, max_down=2,
                         partition_alone_on_three_nodes=True)


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
