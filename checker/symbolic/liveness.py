"""The symbolic engine's verdict on liveness (every fair run settles: the liveness half of
``vip-held``).

z3 only ever *refutes* liveness, with a fair lasso (:mod:`crg.checker.symbolic.lasso`). To
*prove* it, a component whose state space is small enough is handed to the explicit
engine's liveness check (:mod:`crg.checker.explicit.liveness`, the same search ``crg check`` runs),
capped at :data:`EXPLICIT_MAX_STATES` states; the verdict then says that the explicit
engine decided it. A component beyond the cap with no lasso within the bound stays
``unknown``, with both reasons.

The same search also checked every safety invariant; the ones it finds no violation of in
a complete search are returned too, so that a safety invariant z3 could not settle (no
inductive strengthening found) is still decided for a small component, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from crg.checker import stages
from crg.checker.explicit.explore import Search
from crg.checker.explicit.symmetry import canonicaliser
from crg.checker.explicit.trace import violation
from crg.checker.options import EXPLICIT_MAX_STATES
from crg.checker.symbolic.component import HOLDS, UNKNOWN, VIOLATED, TargetResult
from crg.spec import INVARIANT_NAMES, LIVENESS, Model, Topology

_KEY = (LIVENESS[0], True)


@dataclass(frozen=True, slots=True)
class Explicit:
    """What the explicit engine decided about one component."""

    liveness: TargetResult
    safe: frozenset[str]
    """Safety invariants without a violation in a complete search (empty when the
    component was too large to enumerate)."""
    states: int


def decide_explicitly(topology: Topology, z3_result: TargetResult | None,
                      max_states: int = EXPLICIT_MAX_STATES) -> Explicit:
    """The liveness verdict of one component (every node of the cluster) when z3 found no
    lasso: the explicit engine's if the component has at most ``max_states`` states,
    else ``unknown``. ``z3_result`` says how far the lasso search went."""
    bound = z3_result.reason if z3_result is not None else "no lasso search"
    stages.say(f"{stages.label(topology.groups)}: liveness, by search "
               f"({max_states:,} states at most)")
    model = Model(topology)
    canon, _ = canonicaliser(model, True)
    # keep_going: a safety violation must not stop the search before liveness is decided
    search = Search(model, canon=canon, keep_going=True, max_states=max_states)
    stats = search.run()
    safe = (frozenset(name for name in INVARIANT_NAMES if (name, False) not in stats.found)
            if stats.complete else frozenset())
    found = stats.found.get(_KEY)
    if found is not None:
        v = violation(search, found)
        trace = v.trace
        assert trace.loop is not None and trace.loop_action is not None
        actions = tuple(s.action for s in trace.steps[1:] if s.action is not None)
        # what happens first, for the operator; how it was found after, for the curious
        return Explicit(TargetResult(VIOLATED, f"{v.detail}; found by the explicit engine's "
                                               f"liveness check ({stats.states:,} states) "
                                               f"after z3 could not decide it: {bound}",
                                     (*actions, trace.loop_action), trace.loop,
                                     engine="explicit", states=stats.states), safe,
                        stats.states)
    if stats.complete:
        return Explicit(TargetResult(HOLDS, f"decided by the explicit engine's liveness "
                                             f"check: every fair run settles, in all "
                                             f"{stats.states:,} reachable states of the "
                                             f"component ({bound})", engine="explicit",
                                     states=stats.states), safe, stats.states)
    return Explicit(TargetResult(UNKNOWN, f"not decided: {bound}; the component is too "
                                          f"large to enumerate (more than {max_states:,} "
                                          "states)"), safe, stats.states)
