"""Livelocks with z3: a bounded search for fair lassos (the liveness half of ``vip-held``).

A *lasso* is a run ``s_0 … s_k`` from the initial state whose steps are free (events
included) up to a loop start ``L``, and from ``s_L`` on only system steps — the cluster
service's and lease expiry, no environment event — with ``s_k = s_L``: the loop repeats
forever while the environment stays quiet. It counts only if it is *fair* in the sense of
the explicit engine (:mod:`crg.checker.explicit.liveness`, SPEC.md section 8): weak fairness per
system action instance (kind, group, node), so every instance enabled in *every* state of
the loop is taken by one of its steps. The explicit engine then reports a livelock too:
the strongly connected component holding the loop has no more continuously enabled
instances than the loop (an intersection over more states) and takes at least the loop's,
so the component is fair.

The unrolling is bounded model checking's (:class:`~crg.checker.symbolic.bmc.Unrolling`,
pruned by the proved inductive invariant, which removes no reachable state); at depth
``k`` one query asks for a fair loop closing at ``s_k`` from any ``L < k``. Each frame's
instance guards are built once, with the performing node a constant, and reused at every
later depth. A lasso found here is only a candidate: :func:`confirm_lasso` replays it on
the concrete model, closure and fairness included, before it is believed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import z3

from crg.checker.symbolic.bmc import Unrolling
from crg.checker.symbolic.encoding import Encoding, SymState
from crg.checker.symbolic.replay import ReplayError, replay
from crg.checker.symbolic.solve import check
from crg.spec import KINDS, Action, ActionKind, Model, State
from crg.spec.vocabulary.algebra import Bool

Instance = tuple[ActionKind, int, int]
"""A system action instance of the fairness notion: (kind, group or -1, node)."""


@dataclass(frozen=True, slots=True)
class Lasso:
    actions: tuple[Action, ...]
    """The whole run, prefix then loop; the last action returns to state ``loop``."""
    loop: int
    """Index (into the run's states, the initial one being 0) where the loop starts."""


@dataclass(slots=True)
class LassoSearch:
    lasso: Lasso | None
    stopped: str | None
    """Why the search ended before ``max_depth`` without a lasso (None: it did not)."""
    searched: int
    """The largest run length searched completely (0: none)."""
    queries: int


class _Fairness:
    """The fairness constraint, built frame by frame only once some loop exists: per
    instance, ``seen[key][t]`` says "in the loop's part of steps ``0..t`` the instance is
    disabled in some state or taken by some step" (defined once per ``t``, reused at every
    later depth)."""

    def __init__(self, enc: Encoding, unrolling: Unrolling, in_loop: list[z3.BoolRef]) -> None:
        self.enc, self.unrolling, self.in_loop = enc, unrolling, in_loop
        self.seen: dict[Instance, list[z3.BoolRef]] = {}
        self.frames = 0

    def upto(self, depth: int) -> list[z3.BoolRef]:
        """Every instance's constraint for a loop closing at ``depth``."""
        while self.frames < depth:
            self._add_frame(self.frames)
            self.frames += 1
        return [seen[depth - 1] for seen in self.seen.values()]

    def _add_frame(self, t: int) -> None:
        enc, unrolling, a = self.enc, self.unrolling, self.enc.a
        state, choice = unrolling.states[t], unrolling.choices[t]
        node, templates = unrolling.nodes[t], unrolling.templates[t]
        index = {(step.kind, step.group): j for j, step in enumerate(templates)}
        here: dict[Instance, Bool] = {}
        for n in range(enc.n_nodes):
            for step in enc.system_steps(state, n):
                if step.guard is False:
                    continue
                j = index.get((step.kind, step.group))
                took = (a.and_(choice == j, node == n) if j is not None else False)
                here[(step.kind, step.group, n)] = a.or_(a.not_(step.guard), took)
        for key in here.keys() - self.seen.keys():
            # an instance new at frame t: in no earlier frame could it be enabled
            self.seen[key] = self.in_loop[:t]
        solver = unrolling.solver
        for key, seen in self.seen.items():
            # not enabled at all here (no template): the loop passing t is enough
            term = a.and_(self.in_loop[t], here.get(key, True))
            now = z3.Bool(f"fair.{key[0].label}.{key[1]}.{key[2]}.{t}")
            solver.add(now == a.boolean(term if t == 0 else a.or_(seen[t - 1], term)))
            seen.append(now)


def search(enc: Encoding, max_depth: int, timeout_ms: int, deadline: float,
           invariant: Callable[[SymState], Bool] | None = None) -> LassoSearch:
    """The shortest fair lasso with at most ``max_depth`` steps (the closing one
    included), or why there is none within the bound. In a correct configuration the
    system steps have no cycle at all: each depth then costs one query, and the fairness
    constraint is never built."""
    unrolling = Unrolling(enc, timeout_ms, invariant=invariant)
    solver = unrolling.solver
    a = enc.a
    start = z3.BitVec("loop.start", max(max_depth.bit_length(), 1) + 1)
    in_loop: list[z3.BoolRef] = []
    fairness = _Fairness(enc, unrolling, in_loop)
    queries, searched = 0, 0
    for depth in range(1, max_depth + 1):
        if time.perf_counter() > deadline:
            return LassoSearch(None, "time limit", searched, queries)
        unrolling.extend()
        t = depth - 1
        in_loop.append(z3.ULE(start, t))
        templates = unrolling.templates[t]
        system = a.or_(False, *(unrolling.choices[t] == j for j, step in enumerate(templates)
                                if step.system and step.guard is not False))
        solver.add(z3.Implies(in_loop[t], a.boolean(system)))
        last = unrolling.states[depth]
        closes = [z3.ULT(start, depth), a.boolean(a.or_(False, *(
            a.and_(start == j, enc.equal(unrolling.states[j], last)) for j in range(depth))))]
        solver.push()
        solver.add(*closes)
        result = check(solver)
        queries += 1
        if result == z3.sat:
            # Some loop closes here: is one of them fair? (The fairness definitions go
            # outside the push, for the later depths to reuse.)
            solver.pop()
            fair = fairness.upto(depth)
            solver.push()
            solver.add(*closes, *fair)
            result = check(solver)
            queries += 1
        if result == z3.sat:
            model = solver.model()
            lasso = Lasso(unrolling.run(model),
                          model.eval(start, model_completion=True).as_long())
            solver.pop()
            return LassoSearch(lasso, None, searched, queries)
        solver.pop()
        if result == z3.unknown:
            return LassoSearch(None, f"unknown at depth {depth}: {solver.reason_unknown()}",
                               searched, queries)
        searched = depth
    return LassoSearch(None, None, searched, queries)


def confirm_lasso(model: Model, actions: Sequence[Action], loop: int) -> list[State]:
    """Replay the lasso on the concrete model and check it is one: every step enabled, the
    loop made of system steps only, closing on state ``loop``, and fair (every action
    enabled in all its states taken in it). Raises :class:`ReplayError` otherwise."""
    if not 0 <= loop < len(actions):
        raise ReplayError(f"no loop: it starts at {loop} in a run of {len(actions)} steps")
    cycle = actions[loop:]
    event = next((a for a in cycle if not KINDS[a.kind].system), None)
    if event is not None:
        raise ReplayError(f"the loop has an environment event ({event.kind.label})")
    states = replay(model, actions)
    if states[-1] != states[loop]:
        raise ReplayError("the loop does not return to its first state")
    enabled = [frozenset(a for a, _, _ in model.system_transitions(s))
               for s in states[loop:-1]]
    missing = frozenset.intersection(*enabled) - set(cycle)
    if missing:
        raise ReplayError(f"the loop is not fair: {min(missing).kind.label} is enabled "
                          "throughout and never taken")
    return states
