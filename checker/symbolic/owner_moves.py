"""The level of a ranking function no sum of atoms gives: how many more times the owners
can change while everything they depend on stays put.

Groups that avoid each other chase each other's owners: a group moves because the other
moved. Every other step of a group is ranked by its own atoms once the owners stay put,
but no sum of atoms bounds the owner changes themselves (each ``claim`` and
``release-ownership`` of one group can re-enable the other's). When the greedy
construction of :mod:`crg.checker.symbolic.ranking` is stuck with the steps ``R`` left,
this module tries a level of another kind, in three parts:

1. **The context settles.** Every variable that no step of ``R`` changes, or that every
   step of ``R`` changes in one direction only (bits only set, or only cleared), is the
   *context*: along steps of ``R`` it changes finitely often, so every run of ``R`` steps
   ends in a stretch where the context is fixed. Its set (or clear) bits are a level.
2. **The owners settle, those read by no other first.** Among the groups whose owners
   ``R`` changes, a group *reads* another when the guard or the next owner of one of its
   owner-changing steps mentions that group's variables (an ``avoid``). ``S`` is a set of
   groups that read each other round (a strongly connected component) and read no other
   such group: brokers that avoid each other, before the group that avoids them all.
   ``O`` are the steps of ``R`` of the groups of ``S`` that change an owner (each must
   change one whenever it is taken). z3 unrolls the existential abstraction of the
   owners: frames of states of the inductive invariant sharing one context, each
   performing a step of ``O`` whose resulting owners of ``S`` are the next frame's (the
   owners no step of ``R`` changes are context; those of the other groups ``R`` moves
   are chosen afresh in every frame, so the level does not depend on them). If no such
   path of ``K`` steps exists, at most ``K - 1`` owner changes can happen while the context
   is fixed: the longest such path from the current owners of ``S`` is a level that every
   step of ``O`` decreases and no other step of ``R`` changes (it reads those owners and
   the context only). The node status is context too, so each status the first frame may
   have gets an unrolling of its own and the level is the longest of their bounds. A path
   as long as there are owner combinations means a cycle of owner changes (a livelock of
   the abstraction, perhaps a real one): no level then.
   **Releases only.** Where every step of ``O`` either gives an owner up (``release-
   ownership``: owner 0 after) or takes a free group (``claim``: owner 0 before), the
   frames are the releases alone and the level counts them, so the unrolling is half as
   deep (the chases of the survey, ``s7-009``, ``s3-010``, ``s7-015``: at most 11
   releases, no path of 12 in 5–25 s over every status at once, where the owner changes
   needed unsatisfiable unrollings of 24–32 frames, minutes each). Between two release
   frames the owners of ``S`` may change by claims only, each free group at most once
   and in some order, so each claim sees every other owner either as the frame before
   left it or as the frame after has it: the link between frames asks, of each owner
   that differs, that it was free and that a claim of its group, with the context and
   node status of the first frame, each other owner one of those two and every other
   variable free (no invariant), leads to it. That over-approximates the claims the
   rules allow, so with ``G`` the graph of owner vectors whose edges are the releases
   of the frames (from a state of the invariant) and those claims, the most releases on
   a path of ``G`` from the current owners (any claims first) is at most the depth of
   the first unrolling without a path, minus one: every release decreases it, and no
   claim increases it (a claim followed by a path is a path). The claims are then ranked
   by the level right below, the number of groups of ``S`` without an owner, which each
   claim decreases and no step of ``R`` left changes (the releases, which increase it,
   are ranked above).
3. **The rest settles**: the greedy construction goes on with ``R`` without ``O``, and
   where it is stuck again, the next set of groups gets a context and an owner level of
   its own (its readers' owners now stay put: they are context).

Together: a lexicographic ranking function (levels above, context, owner changes, levels
below, and again), each level a function of the state, so the proof is the one of the
module docstring of :mod:`~crg.checker.symbolic.ranking`. Taking the groups a component
at a time keeps each unrolling small: three brokers that all avoid each other unroll as
a pair that chases each other and then a third that follows, not as one chase of three.
Every query has the prover's time limit; an ``unknown`` counts against the level.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

import networkx as nx
import z3

from crg.checker import stages
from crg.checker.symbolic.algebra import occurring
from crg.checker.symbolic.encoding import Encoding, SymState
from crg.checker.symbolic.induction import Prover
from crg.checker.symbolic.solve import check
from crg.checker.symbolic.substitute import Substitution
from crg.dsl.diagnostics import and_list
from crg.spec.rules.registry import KINDS
from crg.spec.vocabulary.variables import GroupVars

NOT_BOUNDED_IN_TIME = "could not be bounded in time"
"""What stopped the owner level when its time ran out (``crg check``'s hint looks for it)."""

NO_OWNER_CHANGE = "no step left changes an owner"
"""Why there is no owner level when no step left changes an owner (the ranking then says
which steps are left once the owners stay put)."""

MAX_DEPTH = 64
"""Most owner changes unrolled: a path longer than that is taken for no bound (z3 would not
finish a deeper query within the ranking's time anyway)."""

Check = Callable[[int, z3.BoolRef], z3.CheckSatResult]
"""A query on one step template under the invariant (``Search.check``)."""


@dataclass(frozen=True, slots=True)
class OwnerLevel:
    context: tuple[tuple[int, str, str], ...]
    """(group, field, direction) of the context's variables that ``R`` changes one way:
    "set" (bits only set) or "clear" (bits only cleared)."""
    moves: int
    """Most owner changes while the context stays put."""
    changing: tuple[int, ...]
    """The templates that change an owner (``O``)."""
    groups: tuple[int, ...]
    """The groups whose owners change."""
    releases: bool = False
    """``moves`` counts the steps that give an owner up only; the steps that take a free
    group (each between two of them) are ranked by the level below it, the groups of
    ``groups`` without an owner (see :func:`_split_releases`)."""


def owner_level(enc: Encoding, prover: Prover, remaining: Sequence[int],
                changed: Callable[[int], frozenset[str]], check: Check,
                deadline: float) -> OwnerLevel | str:
    """The owner-change level for the templates ``remaining`` (see the module docstring),
    or, where it gives none, why not (in words, for the verdict's reason)."""
    templates = prover.templates
    if any(templates[i].group < 0 for i in remaining):
        return "a node event is left unranked"  # the node status is not context then
    moving = tuple(i for i in remaining if "owner" in changed(i))
    if not moving:
        return NO_OWNER_CHANGE
    s = prover.s
    names = [g.name for g in enc.groups]
    first = _read_by_none(enc, prover, moving)
    changing = tuple(i for i in moving if templates[i].group in first)
    for i in changing:  # each must change the owner whenever it is taken
        g = templates[i].group
        same = s.groups[g].owner == templates[i].after.groups[g].owner
        if check(i, same) != z3.unsat:
            return f"{KINDS[templates[i].kind].kind.label} of {names[g]} may keep its owner"
    context = _context(prover, remaining, changed, check)
    fixed = [(g, f) for g in range(len(enc.groups)) for f in GroupVars._fields
             if f != "owner" and (g, f) not in context.changing]
    fixed += [(g, f) for g, f, _ in context.directions]
    groups = tuple(sorted(first))
    chosen = frozenset(templates[i].group for i in moving) - first
    split = _split_releases(prover, changing, check)
    moves = _longest_moves(enc, prover, changing, fixed, chosen, deadline, split)
    if isinstance(moves, str):
        return f"the owners of {and_list([names[g] for g in groups])} {moves}"
    return OwnerLevel(context.directions, moves, changing, groups, split is not None)


def _split_releases(prover: Prover, changing: Sequence[int],
                    check: Check) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The templates of ``changing`` that give the owner up (owner 0 after) and those that
    take a free group (owner 0 before), or None if some template is neither."""
    templates, s = prover.templates, prover.s
    releases, claims = [], []
    for i in changing:
        g = templates[i].group
        if check(i, templates[i].after.groups[g].owner != 0) == z3.unsat:
            releases.append(i)
        elif check(i, s.groups[g].owner != 0) == z3.unsat:
            claims.append(i)
        else:
            return None
    return tuple(releases), tuple(claims)


def _read_by_none(enc: Encoding, prover: Prover, moving: Sequence[int]) -> frozenset[int]:
    """The groups of a strongly connected component of "reads" (see the module docstring)
    among the groups the templates ``moving`` move, from which no edge leaves: their
    owner changes depend on no other moving group's."""
    templates, s = prover.templates, prover.s
    groups = sorted({templates[i].group for i in moving})
    owner_of = {s.groups[h].owner.get_id(): h for h in groups}
    reads = nx.DiGraph()
    reads.add_nodes_from(groups)
    for i in moving:
        g, step = templates[i].group, templates[i]
        terms = [enc.a.boolean(step.guard), step.after.groups[g].owner]
        for h in occurring(terms, owner_of):
            if h != g:
                reads.add_edge(g, h)
    condensed = nx.condensation(reads)
    sink = min(c for c in condensed if condensed.out_degree(c) == 0)
    return frozenset(condensed.nodes[sink]["members"])


@dataclass(frozen=True, slots=True)
class _Context:
    directions: tuple[tuple[int, str, str], ...]
    changing: frozenset[tuple[int, str]]
    """Every (group, field) some template of ``R`` changes, one way or not."""


def _context(prover: Prover, remaining: Sequence[int],
             changed: Callable[[int], frozenset[str]], check: Check) -> _Context:
    """Which of the group variables ``R`` changes it changes one way only."""
    templates, s = prover.templates, prover.s
    ways: dict[tuple[int, str], set[str]] = {}
    for i in remaining:
        g = templates[i].group
        for f in changed(i):
            if f == "owner":
                continue
            left = ways.setdefault((g, f), {"set", "clear"})
            before, after = getattr(s.groups[g], f), getattr(templates[i].after.groups[g], f)
            if z3.is_bool(before):
                gains = z3.And(z3.Not(before), after)
                loses = z3.And(before, z3.Not(after))
            else:
                gains = (after & ~before) != 0
                loses = (before & ~after) != 0
            if "set" in left and check(i, loses) != z3.unsat:
                left.discard("set")
            if "clear" in left and check(i, gains) != z3.unsat:
                left.discard("clear")
    directions = tuple((g, f, min(w)) for (g, f), w in sorted(ways.items()) if w)
    return _Context(directions, frozenset(ways))


def _longest_moves(enc: Encoding, prover: Prover, changing: Sequence[int],
                   fixed: list[tuple[int, str]], chosen: frozenset[int],
                   deadline: float,
                   split: tuple[tuple[int, ...], tuple[int, ...]] | None = None
                   ) -> int | str:
    """A bound on the owner changes with the ``fixed`` variables and the node status shared
    by every frame, and the owners of the ``chosen`` groups free in each: the number of
    frames of the first unrolling that has no path, minus one, asked over every node
    status up to :data:`SHALLOW` frames and past that one status at a time (the most of
    their bounds); or what stopped it, in words."""
    combinations = prod(len(g.candidates) + 1 for i, g in enumerate(enc.groups)
                        if i not in chosen)
    invariant = z3.And(*[prover.now[i] for i in sorted(prover.active)])
    frames = _Frames(enc, prover, invariant, changing, fixed, chosen, split)
    # Shallow unrollings are cheap over every status at once (two brokers: no path of 8);
    # split, each status would ask them again.
    every = z3.BoolVal(True)
    # Counting releases only, the unrollings are half as deep and one over every status
    # stays cheaper than one per status further (s7-015 of the survey: no path of 12
    # releases in 25 s over its 13 statuses at once, 50 s one at a time).
    shallow = SHALLOW_RELEASES if split else SHALLOW
    if combinations <= shallow:
        return _longest_under(frames, every, combinations, deadline)
    moves = _longest_under(frames, every, shallow, deadline, shallow=True)
    if moves != _DEEPER:
        return moves
    most = 0
    statuses = _node_statuses(frames, deadline)
    for i, status in enumerate(statuses):
        frames.where = f", node status {i + 1}/{len(statuses)}" if len(statuses) > 1 else ""
        moves = _longest_under(frames, status, combinations, deadline, start=shallow)
        if isinstance(moves, str):
            return moves
        most = max(most, moves)
    return most


MAX_STATUSES = 64
"""Most node statuses unrolled one at a time; with more, one unrolling takes them all."""


def _node_statuses(frames: _Frames, deadline: float) -> list[z3.BoolRef]:
    """The node statuses the first frame may have, each as a constraint on its node
    variables, or a single ``True`` where there are more than :data:`MAX_STATUSES` or
    their enumeration runs out of time.

    The node status is part of the context every frame shares, so the unrollings under
    each status split the one over all of them exactly; and each is far easier for z3:
    on ``s7-009`` of the survey (four groups chasing round a cycle of ``avoid``) no path
    of 24 changes took 256 s over all statuses, and 1, 1, 14 and 93 s one status at a
    time, the paths themselves shorter where a node is down (under 12 changes)."""
    status = [x for x in frames.first.nodes if isinstance(x, z3.ExprRef)]
    solver = z3.SolverFor("QF_BV")
    solver.add(*frames.frame(0))
    found: list[z3.BoolRef] = []
    while len(found) <= MAX_STATUSES:
        solver.set(timeout=max(1, int((deadline - time.perf_counter()) * 1000)))
        result = check(solver)
        if result == z3.unsat:
            return found or [z3.BoolVal(True)]
        if result == z3.unknown:
            break
        model = solver.model()
        values = [model.eval(x, model_completion=True) for x in status]
        found.append(z3.And(*[x == v for x, v in zip(status, values, strict=True)]))
        solver.add(z3.Or(*[x != v for x, v in zip(status, values, strict=True)]))
    return [z3.BoolVal(True)]


def _next_depth(depth: int) -> int:
    """The unrolling asked after one of ``depth`` frames had a path: a quarter deeper, at
    least four. A path costs z3 little; a query with none costs more the deeper it is (on
    the chase above: 70 s at 20 frames, 93 s at 24, about 390 s at 32), so it pays to
    stop near the first depth with none rather than double past it."""
    return depth + max(4, depth // 4)


SHALLOW = 8
"""Frames unrolled over every node status at once before one status at a time."""

SHALLOW_RELEASES = 12
""":data:`SHALLOW` where the frames are the releases only (:func:`_split_releases`)."""

_DEEPER = "deeper"
"""What a shallow unrolling answers when it found a path as deep as it was asked."""


def _longest_under(frames: _Frames, status: z3.BoolRef, combinations: int,
                   deadline: float, start: int = 4, shallow: bool = False) -> int | str:
    """The number of frames of the first unrolling under the node ``status`` that has no
    path, minus one, from ``start`` frames up to as many as there are combinations of the
    owners it follows (a path means a cycle then) or :data:`MAX_DEPTH`; ``shallow``: up
    to ``combinations`` frames, then :data:`_DEEPER` if there was a path."""
    depth = min(start, combinations)
    while True:
        if time.perf_counter() > deadline:
            return f"{NOT_BOUNDED_IN_TIME} (unrolling {depth} {frames.unit})"
        stages.say(f"{frames.name}: liveness: {depth} owner {frames.unit}{frames.where}? (z3)")
        # A fresh solver each time: z3's incremental core skips the bit-vector
        # preprocessing that makes these queries several times faster. It may take all
        # the time left: a deep unrolling is what --liveness-time is raised for.
        solver = z3.SolverFor("QF_BV")
        solver.set(timeout=max(1, int((deadline - time.perf_counter()) * 1000)))
        solver.add(status)
        for k in range(depth):
            solver.add(*frames.frame(k))
        result = check(solver)
        if result == z3.unsat:
            return depth - 1
        if result == z3.unknown:
            return f"{NOT_BOUNDED_IN_TIME} (z3 at {depth} {frames.unit})"
        if shallow and depth >= combinations:
            return _DEEPER
        if depth >= combinations:
            return ("can change round a cycle while what they read stays put (the abstraction "
                    "of owner changes has one: perhaps a livelock)")
        if depth >= MAX_DEPTH:
            return f"can change {depth} times or more while what they read stays put"
        depth = min(_next_depth(depth), combinations, MAX_DEPTH)


class _Frames:
    """The frames of the unrolling, each built once, when first asked for."""

    def __init__(self, enc: Encoding, prover: Prover, invariant: z3.BoolRef,
                 changing: Sequence[int], fixed: list[tuple[int, str]],
                 chosen: frozenset[int],
                 split: tuple[tuple[int, ...], tuple[int, ...]] | None = None) -> None:
        self._args = (enc, prover, invariant, changing, fixed, chosen, split)
        self._built: list[list[z3.BoolRef]] = []
        self.first = enc.fresh_state("moves0")
        self.name = stages.label(enc.groups)
        """The component, in progress lines."""
        self.unit = "releases" if split else "changes"
        """What a frame is, in words."""
        self.where = ""
        """Which node status is unrolled, in progress lines (empty: all of them)."""

    def frame(self, k: int) -> list[z3.BoolRef]:
        while len(self._built) <= k:
            self._built.append(_frame(*self._args, len(self._built)))
        return self._built[k]


def _frame(enc: Encoding, prover: Prover, invariant: z3.BoolRef, changing: Sequence[int],
           fixed: list[tuple[int, str]], chosen: frozenset[int],
           split: tuple[tuple[int, ...], tuple[int, ...]] | None, k: int) -> list[z3.BoolRef]:
    """Frame ``k`` of the unrolling: a state of ``invariant`` with the first frame's
    context and the owners frame ``k - 1`` left (``moves{k}.owner{g}`` after its step),
    but of the ``chosen`` groups, taking one of the ``changing`` templates."""
    a, templates, s = enc.a, prover.templates, prover.s
    here = enc.fresh_state(f"moves{k}")
    rename = Substitution([*enc.renaming(s, here), (prover.n, enc.node_var(f"moves{k}"))])
    out = [rename(invariant)]
    if k > 0:
        first = enc.fresh_state("moves0")  # the same z3 constants as frame 0's
        out += [a.boolean(a.eq(x, y)) for x, y in zip(here.nodes, first.nodes, strict=True)]
        out += [_same_field(here, first, g, f) for g, f in fixed]
        claimed = _claimable(enc, prover, fixed, chosen, split, k) if split else {}
        out += [here.groups[g].owner == _owner_after(enc, k - 1, g) if g not in claimed
                else z3.Or(here.groups[g].owner == _owner_after(enc, k - 1, g), claimed[g])
                for g in range(len(enc.groups)) if g not in chosen]
    options = []
    for i in (split[0] if split else changing):
        step = templates[i]
        keeps = [rename(a.boolean(a.eq(getattr(step.after.groups[g], f),
                                       getattr(s.groups[g], f))))
                 for g, f in fixed]
        after = [rename(_as_word(step.after.groups[g].owner, enc.width))
                 for g in range(len(enc.groups))]
        options.append(z3.And(rename(a.boolean(step.guard)), *keeps,
                              *[_owner_after(enc, k, g) == x for g, x in enumerate(after)
                                if g not in chosen]))
    out.append(z3.Or(*options))
    return out


def _claimable(enc: Encoding, prover: Prover, fixed: list[tuple[int, str]],
               chosen: frozenset[int], split: tuple[tuple[int, ...], tuple[int, ...]],
               k: int) -> dict[int, z3.BoolRef]:
    """Between release frames ``k - 1`` and ``k``: for each group some template of
    ``split[1]`` (the claims) changes, that it was free after frame ``k - 1``'s step and
    one of its claims took it to the owner frame ``k`` has. The claims between two
    releases take each free group at most once, in some order, so every claim among them
    sees each other group's owner either as it was after frame ``k - 1`` or as it is in
    frame ``k``: each claim is asked of such a mix (one choice per group, free), with the
    context and the node status of the first frame and every other variable free (no
    invariant): an over-approximation of the claims the rules allow."""
    a, templates, s = enc.a, prover.templates, prover.s
    first = enc.fresh_state("moves0")
    here = enc.fresh_state(f"moves{k}")
    claims: dict[int, list[int]] = {}
    for i in split[1]:
        claims.setdefault(templates[i].group, []).append(i)
    out: dict[int, z3.BoolRef] = {}
    for g, indices in claims.items():
        options = []
        for i in indices:
            mid = enc.fresh_state(f"claim{k}.{i}")
            pairs = [*enc.renaming(s, mid), (prover.n, enc.node_var(f"claim{k}.{i}"))]
            rename = Substitution(pairs)
            same = [a.boolean(a.eq(x, y)) for x, y in zip(mid.nodes, first.nodes, strict=True)]
            same += [_same_field(mid, first, h, f) for h, f in fixed]
            for h in range(len(enc.groups)):
                if h == g or h in chosen:
                    continue
                before, now = _owner_after(enc, k - 1, h), here.groups[h].owner
                pick = z3.Bool(f"claim{k}.{i}.sees{h}")
                same.append(mid.groups[h].owner == z3.If(pick, before, now))
            step = templates[i]
            keeps = [rename(a.boolean(a.eq(getattr(step.after.groups[h], f),
                                           getattr(s.groups[h], f))))
                     for h, f in fixed]
            options.append(z3.And(mid.groups[g].owner == _owner_after(enc, k - 1, g),
                                  rename(a.boolean(step.guard)), *same, *keeps,
                                  rename(_as_word(step.after.groups[g].owner, enc.width))
                                  == here.groups[g].owner))
        out[g] = z3.And(_owner_after(enc, k - 1, g) == 0, z3.Or(*options))
    return out


def _owner_after(enc: Encoding, k: int, g: int) -> z3.BitVecRef:
    return z3.BitVec(f"moves{k}.owner{g}", enc.width)


def _same_field(x: SymState, y: SymState, g: int, f: str) -> z3.BoolRef:
    u, v = getattr(x.groups[g], f), getattr(y.groups[g], f)
    return u == v if isinstance(u, z3.ExprRef) else z3.BoolVal(u == v)


def _as_word(x: object, width: int) -> z3.BitVecRef:
    if isinstance(x, int):
        return z3.BitVecVal(x, width)
    assert isinstance(x, z3.BitVecRef)
    return x
