"""The invariants, by their stable names (SPEC.md, "Invariants").

Three sorts:

* *always*: a predicate on one group's :class:`View`, required in every reachable state;
* *quiescent*: the same, required in every state where no step of the cluster service is
  enabled (the cluster has settled);
* *step*: a condition on each transition ``(state, action, next state)``, concrete only.

State predicates are written in the algebra, so z3 proves exactly these. The liveness
half of ``vip-held`` (every fair run settles) is a property of the state graph, decided by
the checker; it is listed here so that reports and SPEC.md share one list of names.
"""

from __future__ import annotations

from crg.spec.invariants.state import STATE_INVARIANTS, StateInvariant, expected_host
from crg.spec.invariants.step import STEP_INVARIANTS, StepInvariant
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action
from crg.spec.vocabulary.variables import GroupVars

ASSUMPTION = frozenset({"coverage"})
"""Invariants that state the config's failure assumption itself. A run may go beyond it
(an operator crashes more nodes than assumed, a what-if fails them all): that is no fault
of the rules, so a run's states are never held to these (``crg simulate``, ``crg
conform``); the checker explores only within the assumption, where they must hold."""

WITHIN_ASSUMPTION = frozenset({"notify"})
"""Invariants that hold only while no more nodes are out than assumed: ``notify`` needs a
live node to send a group's *service down*, and with every node out there is none
(``crg check --max-down`` with all the nodes shows it, ``coverage`` with it)."""


def exempt_invariants(nodes_out: int, max_down: int | None) -> frozenset[str]:
    """The invariants a run's state is not held to, given how many nodes are out in it and
    the config's ``assume at most K nodes down`` (None: the assumption is not known)."""
    if max_down is not None and nodes_out > max_down:
        return ASSUMPTION | WITHIN_ASSUMPTION
    return ASSUMPTION


LIVENESS = ("vip-held",)
"""Checked on the state graph: under weak fairness of the cluster service, every run
without further environment events reaches a settled state (no livelock, no flapping)."""

INVARIANT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    [i.name for i in STATE_INVARIANTS] + ["halt-order"]))


def check_step(v: View, action: Action, after: GroupVars) -> tuple[tuple[str, str], ...]:
    """Every step invariant broken by ``action`` taking the group of ``v`` to ``after``,
    as (invariant name, explanation); concrete evaluation."""
    return tuple((s.name, s.message) for s in STEP_INVARIANTS if not s.check(v, action, after))


def check_group(v: View, quiescent: bool) -> tuple[str, ...]:
    """Names of the state invariants the group of ``v`` breaks."""
    return tuple(inv.name for inv in STATE_INVARIANTS
                 if (quiescent or inv.sort == "always") and not inv.predicate(v))



__all__ = [
    "ASSUMPTION", "INVARIANT_NAMES", "LIVENESS", "STATE_INVARIANTS", "STEP_INVARIANTS",
    "WITHIN_ASSUMPTION", "StateInvariant", "StepInvariant", "check_group", "check_step",
    "exempt_invariants", "expected_host",
]
