"""A third reading of the rules: as terms, to be compiled (see :mod:`crg.spec.fast.compiler`).

:class:`TermAlgebra` implements the algebra by *building* expressions instead of computing
values. Terms are hash-consed (one object per distinct expression, so sharing is free and
equality is identity) and simplified as they are built: configuration constants fold
away (node indices, kinds, policies are all known), so what remains is only what really
depends on the state. The compiler turns the remaining terms into straight-line Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crg.spec.vocabulary.variables import FLAG_FIELDS, AvoidedVars

BOOL = "b"
INT = "i"


class Term:
    """One interned expression. ``op`` names the operation; ``args`` are terms or plain
    ints (node indices, widths); ``sort`` is ``b`` (bool) or ``i`` (int)."""

    __slots__ = ("args", "op", "sort")

    def __init__(self, op: str, args: tuple[Any, ...], sort: str) -> None:
        self.op = op
        self.args = args
        self.sort = sort

    @property
    def is_const(self) -> bool:
        return self.op == "const"

    @property
    def value(self) -> Any:
        assert self.op == "const"
        return self.args[0]

    def __repr__(self) -> str:
        if self.op in ("const", "var"):
            return repr(self.args[0]) if self.op == "const" else str(self.args[0])
        return f"{self.op}({', '.join(map(repr, self.args))})"


def _complementary(items: list[Term]) -> bool:
    """Some item is the negation of another (``x`` and ``not x``)."""
    present = {id(x) for x in items}
    return any(x.op == "not" and id(x.args[0]) in present for x in items)


def _tautology(items: list[Term]) -> bool:
    """A disjunction that always holds for a reason one level down: ``not (x and y) or
    x`` (some conjunct of a negated conjunction is itself a disjunct), or ``not x or not y
    or (x and y)`` (every conjunct of a conjunction is negated among the disjuncts) — the
    shapes the step checks take when a step leaves a flag what the rule made it."""
    present = {id(x) for x in items}
    negated = {id(x.args[0]) for x in items if x.op == "not"}
    negated_ands = [{id(y) for y in x.args[0].args} for x in items
                    if x.op == "not" and x.args[0].op == "and"]
    for x in items:
        if x.op == "not" and x.args[0].op == "and" and any(
                id(y) in present for y in x.args[0].args):
            return True
        if x.op == "and":
            conjuncts = {id(y) for y in x.args}
            rest = conjuncts - negated
            # not c1 or ... or not (d1 and ... and dk) or (c1 and ... and d1 and ... dk)
            if not rest or any(a <= conjuncts and rest <= a for a in negated_ands):
                return True
    return False


class TermAlgebra:
    """The algebra of :mod:`crg.spec.vocabulary.algebra`, building simplified, shared terms."""

    def __init__(self) -> None:
        self._table: dict[tuple[Any, ...], Term] = {}
        self.memo: dict[tuple[Any, ...], Any] = {}
        """Derived values of the rules, by the identity of the terms they were derived
        from (see ``crg.spec.rules.view._cached``): terms are interned, so equal inputs are
        the same objects."""
        self.true = self._make("const", (True,), BOOL)
        self.false = self._make("const", (False,), BOOL)

    # -- construction ----------------------------------------------------------------

    def _make(self, op: str, args: tuple[Any, ...], sort: str) -> Term:
        # A term argument is keyed by its identity (an int); any other argument by a pair
        # of its type and value, so that neither meets an int, and True (== 1) never
        # meets 1. This is the compiler's hottest loop: no generator, no nested tuple for
        # the common case.
        key: tuple[Any, ...] = (op, sort)
        for x in args:
            key += (id(x),) if type(x) is Term else ((type(x).__name__, x),)
        term = self._table.get(key)
        if term is None:
            term = self._table[key] = Term(op, args, sort)
        return term

    def var(self, name: str, sort: str) -> Term:
        return self._make("var", (name,), sort)

    def lift(self, x: Any) -> Term:
        if type(x) is Term:
            return x
        if isinstance(x, bool):
            return self.true if x else self.false
        if isinstance(x, int):
            return self._make("const", (x,), INT)
        raise TypeError(f"cannot lift {x!r}")

    # -- booleans --------------------------------------------------------------------

    def and_(self, *xs: Any) -> Term:
        items: list[Term] = []
        for x in map(self.lift, xs):
            if x is self.false:
                return self.false
            if x is self.true or x in items:
                continue
            if x.op == "and":
                items.extend(y for y in x.args if y not in items)
            else:
                items.append(x)
        if not items:
            return self.true
        if len(items) == 1:
            return items[0]
        if _complementary(items):
            return self.false
        return self._make("and", tuple(items), BOOL)

    def or_(self, *xs: Any) -> Term:
        items: list[Term] = []
        for x in map(self.lift, xs):
            if x is self.true:
                return self.true
            if x is self.false or x in items:
                continue
            if x.op == "or":
                items.extend(y for y in x.args if y not in items)
            else:
                items.append(x)
        if not items:
            return self.false
        if len(items) == 1:
            return items[0]
        if _complementary(items) or _tautology(items):
            return self.true
        return self._make("or", tuple(items), BOOL)

    def not_(self, x: Any) -> Term:
        x = self.lift(x)
        if x.is_const:
            return self.lift(not x.value)
        if x.op == "not":
            return x.args[0]  # type: ignore[no-any-return]
        return self._make("not", (x,), BOOL)

    def ite(self, cond: Any, then: Any, other: Any) -> Term:
        c, t, o = self.lift(cond), self.lift(then), self.lift(other)
        if c.is_const:
            return t if c.value else o
        if t is o:
            return t
        if t.sort == BOOL:
            if t is self.true and o is self.false:
                return c
            if t is self.false and o is self.true:
                return self.not_(c)
        return self._make("ite", (c, t, o), t.sort)

    # -- integers and masks ----------------------------------------------------------

    def eq(self, a: Any, b: Any) -> Term:
        x, y = self.lift(a), self.lift(b)
        if x is y:
            return self.true
        if x.is_const and y.is_const:
            return self.lift(x.value == y.value)
        if x.sort == BOOL and y.is_const:
            return x if y.value else self.not_(x)
        if y.sort == BOOL and x.is_const:
            return y if x.value else self.not_(y)
        if id(x) > id(y):  # canonical order for sharing
            x, y = y, x
        return self._make("eq", (x, y), BOOL)

    def lt(self, a: Any, b: Any) -> Term:
        x, y = self.lift(a), self.lift(b)
        if x.is_const and y.is_const:
            return self.lift(x.value < y.value)
        return self._make("lt", (x, y), BOOL)

    def add(self, a: Any, b: int) -> Term:
        x = self.lift(a)
        if x.is_const:
            return self.lift(x.value + b)
        if b == 0:
            return x
        if x.op == "add":
            return self.add(x.args[0], x.args[1] + b)
        return self._make("add", (x, b), INT)

    def const(self, value: int) -> Term:
        return self.lift(value)

    def bit(self, mask: Any, node: Any) -> Term:
        m, n = self.lift(mask), self.lift(node)
        if n.is_const:
            i = n.value
            if i < 0:
                return self.false
            if m.is_const:
                return self.lift(bool((m.value >> i) & 1))
            if m.op == "setbit" and m.args[1] == i:
                return m.args[2]  # type: ignore[no-any-return]
            if m.op == "setbit" and isinstance(m.args[1], int):
                return self.bit(m.args[0], i)
            return self._make("bit", (m, i), BOOL)
        return self._make("bitdyn", (m, n), BOOL)

    def with_bit(self, mask: Any, node: Any, on: Any) -> Term:
        m, n, o = self.lift(mask), self.lift(node), self.lift(on)
        if n.is_const:
            i = n.value
            if i < 0:
                return m
            if m.is_const and o.is_const:
                return self.lift(m.value | (1 << i) if o.value else m.value & ~(1 << i))
            if o.is_const and self.bit(m, i) is o:
                return m
            return self._make("setbit", (m, i, o), INT)
        return self._make("setbitdyn", (m, n, o), INT)

    def without(self, mask: Any, other: Any) -> Term:
        m, o = self.lift(mask), self.lift(other)
        if m.is_const and o.is_const:
            return self.lift(m.value & ~o.value)
        if o.is_const and o.value == 0:
            return m
        if m is o:
            return self.lift(0)
        return self._make("without", (m, o), INT)

    def band(self, a: Any, b: Any) -> Term:
        x, y = self.lift(a), self.lift(b)
        if x.is_const and y.is_const:
            return self.lift(x.value & y.value)
        return self._make("band", (x, y), INT)

    def bor(self, a: Any, b: Any) -> Term:
        x, y = self.lift(a), self.lift(b)
        if x.is_const and y.is_const:
            return self.lift(x.value | y.value)
        if x.is_const and x.value == 0:
            return y
        if y.is_const and y.value == 0:
            return x
        return self._make("bor", (x, y), INT)

    def is_zero(self, mask: Any) -> Term:
        m = self.lift(mask)
        if m.is_const:
            return self.lift(m.value == 0)
        return self._make("iszero", (m,), BOOL)

    def at_most_one(self, mask: Any) -> Term:
        m = self.lift(mask)
        if m.is_const:
            return self.lift(m.value & (m.value - 1) == 0)
        return self._make("atmostone", (m,), BOOL)

    def popcount_le(self, mask: Any, bound: int, width: int) -> Term:
        m = self.lift(mask)
        if m.is_const:
            return self.lift((m.value & ((1 << width) - 1)).bit_count() <= bound)
        return self._make("pople", (m, bound, width), BOOL)

    def first(self, options: Sequence[tuple[Any, Any]], default: Any) -> Term:
        result = self.lift(default)
        for cond, value in reversed(options):
            result = self.ite(cond, value, result)
        return result


def avoided_terms(a: TermAlgebra, prefix: str) -> AvoidedVars:
    """What a group reads of a group it avoids, as variables of ``a`` named ``prefix``
    followed by the field (the flags boolean, the rest words)."""
    return AvoidedVars(**{f: a.var(prefix + f, BOOL if f in FLAG_FIELDS else INT)
                          for f in AvoidedVars._fields})
