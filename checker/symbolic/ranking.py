"""Liveness proved by z3: a lexicographic ranking function, assembled from the rules.

Liveness (SPEC.md section 8) says that every fair run without further environment events
reaches a quiescent state. It follows from something stronger that z3 can check one rule
at a time: a measure of the state, a tuple of natural numbers compared lexicographically,
that every *system* step (the cluster service's steps and lease expiry) strictly
decreases, from every state satisfying the proved inductive invariant (which holds in
every reachable state). A strictly decreasing sequence of such tuples is finite, so every
run of system steps alone is finite and ends where none is enabled: it settles, fair or
not.

The measure is not written by hand. Its ingredients, the *atoms*, are read off the rules
and the variables:

* for every system rule and group, how many instances of it are enabled (its guard, over
  the nodes): the run method advances by disabling its own step and enabling the next,
  the halt method retracts the same way, and a move is a halt then a run;
* for every variable of a group and every node status mask, how many of its bits are set
  and how many are clear (for a flag: whether it is set, or clear);
* for every group another one reads through ``avoid``, whether its owner is each node.

A greedy search then builds the tuple from the front (the classic construction of
lexicographic ranking functions): the next level is the sum of every atom that no
remaining step can increase; the steps that always decrease that level are ranked by it
and leave; and so on until none is left. If a round ranks no step, there is no such
measure among the atoms, and liveness is left to the other methods (a z3 search for a fair
lasso, then the explicit engine on a small component). Every step of the search is a z3
query on one step template of the encoding (:mod:`crg.checker.symbolic.encoding`), under
the inductive invariant, with a time limit; a query that runs out counts against the
measure, never for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import z3

from crg.checker.symbolic.algebra import occurring
from crg.checker.symbolic.encoding import Encoding, Step, SymState
from crg.checker.symbolic.induction import Prover
from crg.checker.symbolic.owner_moves import (
    NO_OWNER_CHANGE,
    NOT_BOUNDED_IN_TIME,
    OwnerLevel,
    owner_level,
)
from crg.dsl.diagnostics import and_list
from crg.spec.rules.registry import KINDS, SYSTEM_GROUP_KINDS
from crg.spec.vocabulary.variables import GroupVars, NodeVars

OWNER_LEVEL = "owner changes left"
"""How the label of the owner-change level begins."""

_WIDTH = 16
"""Bits of a count: far more than any sum of atoms of a component needs."""
_ONE, _ZERO = z3.BitVecVal(1, _WIDTH), z3.BitVecVal(0, _WIDTH)


@dataclass(frozen=True, slots=True)
class Atom:
    label: str
    value: Callable[[SymState], z3.BitVecRef]
    group: int | None
    """The group whose variables it reads (None: the node status only)."""
    owners: frozenset[int] = frozenset()
    """Groups whose owner it reads besides."""
    fields: frozenset[str] | None = None
    """The fields of ``group`` it reads (None: all of them)."""


@dataclass(frozen=True, slots=True)
class Ranking:
    levels: tuple[tuple[str, ...], ...]
    """The atoms summed at each level, most significant first."""
    queries: int
    seconds: float

    def describe(self) -> str:
        owners = next((level[0] for level in self.levels
                       if level[0].startswith(OWNER_LEVEL)), None)
        detail = "" if owners is None else f", one of them the {owners}"
        return (f"every step of the cluster service decreases a ranking function of "
                f"{len(self.levels)} levels{detail}, from every state of the inductive "
                f"invariant (z3, {self.queries} queries)")


def _indicator(b: z3.BoolRef | bool) -> z3.BitVecRef:
    if isinstance(b, bool):
        return _ONE if b else _ZERO
    return z3.If(b, _ONE, _ZERO)


def _popcount(word: z3.BitVecRef | int, bits: int, set_: bool) -> z3.BitVecRef:
    terms = []
    for i in range(bits):
        if isinstance(word, int):
            terms.append(_ONE if bool((word >> i) & 1) == set_ else _ZERO)
        else:
            bit = z3.Extract(i, i, word) == 1
            terms.append(_indicator(bit if set_ else z3.Not(bit)))
    return z3.Sum(terms) if len(terms) > 1 else (terms[0] if terms else _ZERO)


def _total(values: list[z3.BitVecRef]) -> z3.BitVecRef:
    return z3.Sum(values) if len(values) > 1 else (values[0] if values else _ZERO)


def atoms(enc: Encoding) -> list[Atom]:
    """Every atom of the measure (see the module docstring)."""
    out: list[Atom] = []
    a, n_nodes = enc.a, enc.n_nodes
    for field in NodeVars._fields:
        for set_ in (True, False):
            def node_count(s: SymState, f: str = field, v: bool = set_) -> z3.BitVecRef:
                return _popcount(getattr(s.nodes, f), n_nodes, v)

            out.append(Atom(f"{'' if set_ else 'not '}{field}", node_count, None))
    for g, topo in enumerate(enc.groups):
        avoided = frozenset(topo.avoid)
        for kind in SYSTEM_GROUP_KINDS:
            info = KINDS[kind]
            rule = info.rule
            assert rule is not None
            nodes = range(n_nodes) if info.uses_node else (-1,)

            def enabled(s: SymState, rule: Callable[..., tuple[object, object]] = rule,
                        nodes: range | tuple[int, ...] = nodes, g: int = g) -> z3.BitVecRef:
                view = enc.view(s, g)
                return _total([_indicator(a.boolean(rule(view, n)[0])) for n in nodes])

            out.append(Atom(f"{kind.label} enabled (group {g})", enabled, g, avoided))
        out += _guard_atoms(enc, g, avoided)
        for field in GroupVars._fields:
            for set_ in (True, False):
                def count(s: SymState, f: str = field, v: bool = set_,
                          g: int = g) -> z3.BitVecRef:
                    x = getattr(s.groups[g], f)
                    if isinstance(x, bool) or z3.is_bool(x):
                        return _indicator(x if v else a.not_(x))
                    return _popcount(x, enc.width, v)

                out.append(Atom(f"{field} {'set' if set_ else 'clear'} (group {g})", count,
                                g, fields=frozenset({field})))
                # the same bits on the nodes of each status (a cut-off node only sheds)
                for status in NodeVars._fields:
                    def on(s: SymState, f: str = field, v: bool = set_, g: int = g,
                           m: str = status) -> z3.BitVecRef:
                        x, mask = getattr(s.groups[g], f), getattr(s.nodes, m)
                        if isinstance(x, bool) or z3.is_bool(x):
                            return _ZERO
                        return _popcount(a.band(x, mask), n_nodes, True) if v else \
                            _popcount(a.without(mask, x), n_nodes, True)

                    out.append(Atom(f"{field} {'set' if set_ else 'clear'} on {status} "
                                    f"nodes (group {g})", on, g, fields=frozenset({field})))
        for h in topo.avoid:
            for c in range(n_nodes):
                for is_ in (True, False):
                    def there(s: SymState, h: int = h, c: int = c,
                              v: bool = is_) -> z3.BitVecRef:
                        at = a.eq(s.groups[h].owner, c + 1)
                        return _indicator(a.boolean(at if v else a.not_(at)))

                    out.append(Atom(f"owner of group {h} {'is' if is_ else 'is not'} node "
                                    f"{c} (read by group {g})", there, h,
                                    fields=frozenset({"owner"})))
    return out


def _guard_atoms(enc: Encoding, g: int, avoided: frozenset[int]) -> list[Atom]:
    """For every system rule of group ``g``, each conjunct of its guard, true and false,
    counted over the nodes (a conjunct that does not mention the performing node is
    counted once): the derived notions the rules themselves test (moving, the group's
    roles on each node...)."""
    a, n_nodes = enc.a, enc.n_nodes
    probe = z3.BitVec("ranking.node", enc.width)
    template = enc.fresh_state("ranking")
    seen: set[int] = set()
    out: list[Atom] = []
    for kind in SYSTEM_GROUP_KINDS:
        rule = KINDS[kind].rule
        assert rule is not None
        guard = a.boolean(rule(enc.view(template, g), probe)[0])
        for conjunct in _conjuncts(guard):
            if conjunct.get_id() in seen or z3.is_true(conjunct) or z3.is_false(conjunct):
                continue
            seen.add(conjunct.get_id())
            per_node = not z3.substitute(conjunct, (probe, z3.BitVecVal(0, enc.width))).eq(
                conjunct)
            fields = _fields_read(conjunct, template, g)
            for truth in (True, False):
                def value(s: SymState, c: z3.BoolRef = conjunct, v: bool = truth,
                          per_node: bool = per_node) -> z3.BitVecRef:
                    term = z3.substitute(c, *enc.renaming(template, s))
                    term = term if v else z3.Not(term)
                    if not per_node:
                        return _indicator(term)
                    return _total([_indicator(z3.substitute(
                        term, (probe, z3.BitVecVal(n, enc.width)))) for n in range(n_nodes)])

                out.append(Atom(f"{kind.label} guard part {len(seen)} {truth} (group {g})",
                                value, g, avoided, fields))
    return out


def _fields_read(term: z3.ExprRef, template: SymState, g: int) -> frozenset[str]:
    """The fields of group ``g`` of ``template`` that occur in ``term``."""
    ids = {x.get_id(): f for f, x in zip(GroupVars._fields, template.groups[g], strict=True)
           if isinstance(x, z3.ExprRef)}
    return frozenset(occurring([term], ids))


def _conjuncts(term: z3.BoolRef) -> list[z3.BoolRef]:
    """The conjuncts of ``term``, two levels deep (the rules' own ``and_`` nests them),
    and the conditions of the choices it makes (the reasons of the placement, in order)."""
    out = []
    for c in (term.children() if z3.is_and(term) else [term]):
        out.append(c)
        if z3.is_and(c):
            out.extend(c.children())
    seen: set[int] = set()
    todo = [term]
    while todo:
        t = todo.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_app_of(t, z3.Z3_OP_ITE) and z3.is_bool(t.arg(0)):
            out.append(t.arg(0))
        todo.extend(t.children())
    return out


TIME_RAN_OUT = "the time for it ran out"
"""Why the greedy construction stopped when its time ran out."""

OUT_OF_TIME = (TIME_RAN_OUT, NOT_BOUNDED_IN_TIME)
"""The words of a liveness reason that say the ranking function ran out of time (not that
none exists): ``crg check`` then hints at ``--liveness-time``."""


class Search:
    def __init__(self, enc: Encoding, prover: Prover, deadline: float) -> None:
        self.enc, self.prover, self.deadline = enc, prover, deadline
        self.atoms = atoms(enc)
        self.steps = [(i, t) for i, t in enumerate(prover.templates) if t.system]
        self.queries = 0
        self._now: dict[int, z3.BitVecRef] = {}
        self._after: dict[tuple[int, int], z3.BitVecRef] = {}
        self._increases: dict[tuple[int, int], bool] = {}
        self._changed: dict[int, frozenset[str]] = {}

    def _value(self, k: int, i: int | None) -> z3.BitVecRef:
        """Atom ``k`` now (``i`` None) or after template ``i``."""
        if i is None:
            if k not in self._now:
                self._now[k] = self.atoms[k].value(self.prover.s)
            return self._now[k]
        key = (i, k)
        if key not in self._after:
            self._after[key] = self.prover.after(i, self._value(k, None))
        return self._after[key]

    def _affects(self, step: Step, atom: Atom) -> bool:
        """Can the step change the atom at all? (Read off the variables it writes.)"""
        if step.group < 0:
            return True  # a node event (expire) changes the node status and every group
        if atom.group is None:
            return False  # group steps leave the node status alone
        changed = self.changed(step)
        if atom.group == step.group:
            return bool(changed if atom.fields is None else changed & atom.fields)
        return step.group in atom.owners and "owner" in changed

    def changed(self, step: Step) -> frozenset[str]:
        """The fields of its group a group step may change (read off its next state)."""
        changed = self._changed.get(id(step))
        if changed is None:
            before, after = self.prover.s.groups[step.group], step.after.groups[step.group]
            changed = self._changed[id(step)] = frozenset(
                f for f, x, y in zip(GroupVars._fields, before, after, strict=True)
                if not _same(x, y))
        return changed

    def check(self, i: int, claim: z3.BoolRef) -> z3.CheckSatResult:
        if time.perf_counter() > self.deadline:
            return z3.unknown
        solver = self.prover._template_solver(i)
        solver.push()
        solver.add(claim)
        result = self.prover._check(solver, *self.prover._assumed())
        solver.pop()
        self.queries += 1
        return result

    def increases(self, i: int, k: int) -> bool:
        key = (i, k)
        if key not in self._increases:
            step, atom = self.prover.templates[i], self.atoms[k]
            self._increases[key] = self._affects(step, atom) and self.check(
                i, z3.ULT(self._value(k, None), self._value(k, i))) != z3.unsat
        return self._increases[key]

    def decreases(self, i: int, level: list[int]) -> bool:
        """Does template ``i`` decrease some atom of ``level`` in every state?"""
        step = self.prover.templates[i]
        moving = [k for k in level if self._affects(step, self.atoms[k])]
        if not moving:
            return False
        stays = z3.And([z3.ULE(self._value(k, None), self._value(k, i)) for k in moving])
        return bool(self.check(i, stays) == z3.unsat)

    def greedy(self, remaining: list[int]) -> tuple[list[tuple[str, ...]], list[int]]:
        """Levels of sums of atoms for the templates ``remaining``, as far as they go: the
        levels and the templates no level ranked."""
        levels: list[tuple[str, ...]] = []
        while remaining:
            level = [k for k in range(len(self.atoms))
                     if not any(self.increases(i, k) for i in remaining)]
            ranked = [i for i in remaining if self.decreases(i, level)]
            if not ranked:
                break
            levels.append(tuple(self.atoms[k].label for k in level))
            remaining = [i for i in remaining if i not in ranked]
        return levels, remaining

    def owners(self, remaining: list[int]) -> OwnerLevel | str:
        """The owner-change level for the templates ``remaining``, or why there is none
        (:mod:`crg.checker.symbolic.owner_moves`)."""
        return owner_level(self.enc, self.prover, remaining,
                           lambda i: self.changed(self.prover.templates[i]), self.check,
                           self.deadline)

    def run(self) -> tuple[tuple[str, ...], ...] | str:
        """The levels, or why the construction found none (in words)."""
        levels, remaining = self.greedy([i for i, _ in self.steps])
        settled: list[str] = []
        while remaining:
            # Stuck: perhaps owners chasing each other. An owner level for the groups whose
            # owners no other moving group's depend on, then the greedy levels again, and
            # so on down the groups that read them (each round settles one set of groups
            # for good, so there are at most as many rounds as groups).
            found = self.owners(remaining)
            if isinstance(found, str):
                left = self._left(remaining)
                if not settled:
                    return f"{left}, and {found}"
                if found == NO_OWNER_CHANGE:
                    return f"{left} once the owners stay put"
                return f"{left} once the owners of {and_list(settled)} stay put, and {found}"
            levels += _owner_levels(found, [g.name for g in self.enc.groups])
            settled += [self.enc.groups[g].name for g in found.groups]
            below, remaining = self.greedy([i for i in remaining if i not in found.changing])
            levels += below
        return tuple(levels)

    def _left(self, remaining: list[int]) -> str:
        """Which steps no sum of atoms ranks, in words."""
        if time.perf_counter() > self.deadline:
            return TIME_RAN_OUT
        names = [g.name for g in self.enc.groups]
        kinds = sorted({KINDS[self.prover.templates[i].kind].kind.label for i in remaining})
        groups = sorted({names[self.prover.templates[i].group] for i in remaining
                         if self.prover.templates[i].group >= 0})
        steps = and_list(kinds) if len(kinds) <= 3 else f"{len(kinds)} kinds of step"
        return f"no sum of atoms ranks {steps}" + (f" of {and_list(groups)}" if groups else "")


def _owner_levels(found: OwnerLevel, names: list[str]) -> list[tuple[str, ...]]:
    """The labels of the context level (if any variable of it changes) and of the owner
    level (:mod:`crg.checker.symbolic.owner_moves`)."""
    out = []
    if found.context:
        out.append(tuple(f"{f} {'clear' if way == 'set' else 'set'} (group {g})"
                         for g, f, way in found.context))
    groups = and_list([names[g] for g in found.groups])
    if found.releases:
        out.append((f"{OWNER_LEVEL} of {groups} (at most {found.moves} given up while "
                    f"the rest stays put)",))
        out.append((f"groups of {groups} without an owner",))
        return out
    out.append((f"{OWNER_LEVEL} of {groups} (at most {found.moves} while the rest "
                f"stays put)",))
    return out


@dataclass(frozen=True, slots=True)
class Attempt:
    ranking: Ranking | None
    gap: str
    """Why there is no ranking function (empty when there is one)."""


def rank(enc: Encoding, prover: Prover, budget_s: float) -> Attempt:
    """A ranking function for every system step of ``enc`` under ``prover``'s inductive
    invariant (call after :meth:`Prover.strengthen`), or why the atoms and the owner level
    give none within ``budget_s`` seconds."""
    started = time.perf_counter()
    search = Search(enc, prover, started + budget_s)
    levels = search.run()
    if isinstance(levels, str):
        return Attempt(None, levels)
    return Attempt(Ranking(levels, search.queries, time.perf_counter() - started), "")


def find_ranking(enc: Encoding, prover: Prover, budget_s: float) -> Ranking | None:
    """:func:`rank`'s ranking function, if any."""
    return rank(enc, prover, budget_s).ranking


def _same(x: object, y: object) -> bool:
    if isinstance(x, z3.ExprRef) and isinstance(y, z3.ExprRef):
        return bool(x.eq(y))
    if isinstance(x, z3.ExprRef) or isinstance(y, z3.ExprRef):
        return False
    return bool(x == y)
