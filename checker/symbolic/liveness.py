"""The symbolic engine's verdict on liveness (every fair run settles: the liveness half of
``vip-held``).

z3 only ever *refutes* liveness, with a fair lasso (:mod:`crg.checker.symbolic.lasso`). To
*prove* it, a component whose state space is small enough is handed to the explicit
engine's liveness check (:mod:`crg.checker.liveness`, the same search ``crg check`` runs),
capped at :data:`EXPLICIT_MAX_STATES` states; the verdict then says that the explicit
engine decided it. A component beyond the cap with no lasso within the bound stays
``unknown``, with both reasons.
"""

from __future__ import annotations

from crg.checker.explore import Search
from crg.checker.symbolic.component import PROVED, UNKNOWN, VIOLATED, TargetResult
from crg.checker.symmetry import canonicaliser
from crg.checker.trace import violation
from crg.spec import LIVENESS, Model, Topology

EXPLICIT_MAX_STATES = 50_000
"""Largest component (distinct states, symmetry-reduced) whose liveness the symbolic
engine has the explicit engine decide: about a second and a half of search here
(benchmarks/README.md measures some 67,000 states/s)."""

_KEY = (LIVENESS[0], True)


def decide_explicitly(topology: Topology, z3_result: TargetResult | None,
                      max_states: int = EXPLICIT_MAX_STATES) -> TargetResult:
    """The liveness verdict of one component (every node of the cluster) when z3 found no
    lasso: the explicit engine's if the component has at most ``max_states`` states,
    else ``unknown``. ``z3_result`` says how far the lasso search went."""
    bound = z3_result.reason if z3_result is not None else "no lasso search"
    model = Model(topology)
    canon, _ = canonicaliser(model, True)
    # keep_going: a safety violation must not stop the search before liveness is decided
    search = Search(model, canon=canon, keep_going=True, max_states=max_states)
    stats = search.run()
    found = stats.found.get(_KEY)
    if found is not None:
        v = violation(search, found)
        trace = v.trace
        assert trace.loop is not None and trace.loop_action is not None
        actions = tuple(s.action for s in trace.steps[1:] if s.action is not None)
        return TargetResult(VIOLATED, f"found by the explicit engine's liveness check "
                                      f"({stats.states:,} states; {bound}): {v.detail}",
                            (*actions, trace.loop_action), trace.loop, engine="explicit")
    if stats.complete:
        return TargetResult(PROVED, f"decided by the explicit engine's liveness check: every "
                                    f"fair run settles, in all {stats.states:,} reachable "
                                    f"states of the component ({bound})", engine="explicit")
    return TargetResult(UNKNOWN, f"not decided: {bound}; the component is too large to "
                                 f"enumerate (more than {max_states:,} states)")

