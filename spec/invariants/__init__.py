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

from collections.abc import Iterator, Mapping

from crg.spec.invariants.enabled import ENABLED_INVARIANTS
from crg.spec.invariants.state import GUARANTEES, StateInvariant, expected_host
from crg.spec.invariants.step import STEP_INVARIANTS, StepInvariant
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action
from crg.spec.vocabulary.variables import AvoidedVars, GroupVars, NodeVars

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


STATE_INVARIANTS: tuple[StateInvariant, ...] = GUARANTEES + ENABLED_INVARIANTS
"""Every state invariant: what must hold (``state``), then what must be possible
(``enabled``)."""

LIVENESS = ("vip-held",)
"""Checked on the state graph: under weak fairness of the cluster service, every run
without further environment events reaches a settled state (no livelock, no flapping)."""

INVARIANT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    [i.name for i in STATE_INVARIANTS] + [s.name for s in STEP_INVARIANTS]))
"""Every invariant's name, once: the state invariants in their order, then those stated
over transitions only."""


def check_step(v: View, action: Action, w: View) -> tuple[tuple[str, str], ...]:
    """Every step invariant broken by ``action`` taking the group from view ``v`` to view
    ``w``, as (invariant name, explanation); concrete evaluation."""
    return tuple((s.name, s.message) for s in STEP_INVARIANTS if not s.check(v, action, w))


def after_view(v: View, after: GroupVars, nodes: NodeVars | None = None) -> View:
    """The view after a step: the group's new variables, and for a node event the new
    node status. A node event's view knows nothing of other groups (each group's effect is
    computed on its own), so a step check that reads one there fails loudly."""
    if nodes is None:
        return View(v.a, v.topo, v.nodes, after, v.avoided, v.n_nodes)
    return View(v.a, v.topo, nodes, after, NO_AVOIDED, v.n_nodes)


class _NoAvoided(Mapping[int, AvoidedVars]):
    def __getitem__(self, key: int) -> AvoidedVars:
        raise KeyError(f"group {key}'s variables are not known after a node event")

    def __iter__(self) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return 0


NO_AVOIDED: Mapping[int, AvoidedVars] = _NoAvoided()


def check_group(v: View, quiescent: bool) -> tuple[str, ...]:
    """Names of the state invariants the group of ``v`` breaks."""
    return tuple(inv.name for inv in STATE_INVARIANTS
                 if (quiescent or inv.sort == "always") and not inv.predicate(v))



__all__ = [
    "ASSUMPTION",
    "INVARIANT_NAMES",
    "LIVENESS",
    "NO_AVOIDED",
    "STATE_INVARIANTS",
    "STEP_INVARIANTS",
    "WITHIN_ASSUMPTION",
    "StateInvariant",
    "StepInvariant",
    "after_view",
    "check_group",
    "check_step",
    "exempt_invariants",
    "expected_host",
]
