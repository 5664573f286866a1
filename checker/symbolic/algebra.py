"""The spec's :class:`~crg.spec.vocabulary.algebra.Algebra` over z3 terms.

Every rule, derived notion and state invariant of ``crg.spec`` is a function of an
algebra; with :class:`Z3Algebra` the same functions *build* formulas instead of computing
values. One width fits every word: masks, node indices, owner/target references and
restart counts are all ``BitVec(width)`` with ``width >= n_nodes`` large enough that the
"no node" index ``-1`` (a reference 0 minus one) wraps to a value at or above the width,
where shifting leaves nothing: ``bit(mask, -1)`` is false and ``with_bit(mask, -1, _)`` is
``mask``, exactly as in :data:`~crg.spec.vocabulary.algebra.CONCRETE`.

Values stay Python ints and bools while they are constants (the configuration makes many
of them so): the operations fold them, which keeps the formulas small, and a constant
meets a z3 term only inside an operation, where it is converted at the one width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import z3
import z3.z3 as _z3

Bool = Any
"""A Python bool or a ``z3.BoolRef``."""
Word = Any
"""A Python int or a ``z3.BitVecRef`` of the algebra's width."""


_CTX = z3.main_ctx()
_ONE_BIT = z3.BitVecVal(1, 1)


# Thin constructors over z3's C API: the Python wrappers (z3.And, ==, If...) check and
# coerce their arguments on every call, which dominated the time to build the formulas.
# The algebra already guarantees the sorts, so it calls the C API directly.
def _and(terms: list[z3.BoolRef]) -> z3.BoolRef:
    array, size = _z3._to_ast_array(terms)
    return z3.BoolRef(z3.Z3_mk_and(_CTX.ref(), size, array), _CTX)


def _or(terms: list[z3.BoolRef]) -> z3.BoolRef:
    array, size = _z3._to_ast_array(terms)
    return z3.BoolRef(z3.Z3_mk_or(_CTX.ref(), size, array), _CTX)


def _not(x: z3.BoolRef) -> z3.BoolRef:
    return z3.BoolRef(z3.Z3_mk_not(_CTX.ref(), x.as_ast()), _CTX)


def _eq(x: z3.ExprRef, y: z3.ExprRef) -> z3.BoolRef:
    return z3.BoolRef(z3.Z3_mk_eq(_CTX.ref(), x.as_ast(), y.as_ast()), _CTX)


def _bit(mask: z3.BitVecRef, i: int) -> z3.BoolRef:
    extract = z3.Z3_mk_extract(_CTX.ref(), i, i, mask.as_ast())
    return z3.BoolRef(z3.Z3_mk_eq(_CTX.ref(), extract, _ONE_BIT.as_ast()), _CTX)


def word_width(n_nodes: int, max_restarts: int) -> int:
    """The one width of all words for a model of ``n_nodes`` nodes."""
    return max(n_nodes, (n_nodes + 1).bit_length(), max(max_restarts, 1).bit_length(), 2)


T = TypeVar("T")


def occurring(terms: Sequence[Any], named: Mapping[int, T]) -> set[T]:
    """What ``named`` (by z3 term id) calls the terms that occur in ``terms``, at any
    depth; a value left a Python constant contains none."""
    found: set[T] = set()
    todo = [t for t in terms if isinstance(t, z3.ExprRef)]
    seen: set[int] = set()
    while todo:
        t = todo.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if t.get_id() in named:
            found.add(named[t.get_id()])
        todo.extend(t.children())
    return found


def is_const(x: Any) -> bool:
    return isinstance(x, int)  # bool is an int too


class Z3Algebra:
    """Rule evaluation over z3 terms (see the module docstring)."""

    true = True
    false = False

    def __init__(self, width: int) -> None:
        self.width = width
        self._modulus = 1 << width

    # -- conversions ---------------------------------------------------------------

    def word(self, x: Word) -> z3.BitVecRef:
        """``x`` as a term of the algebra's width."""
        if isinstance(x, z3.BitVecRef):
            return x
        return z3.BitVecVal(int(x) % self._modulus, self.width)

    @staticmethod
    def boolean(x: Bool) -> z3.BoolRef:
        if isinstance(x, z3.BoolRef):
            return x
        return z3.BoolVal(bool(x))

    # -- booleans --------------------------------------------------------------------

    def and_(self, *xs: Bool) -> Bool:
        terms = []
        for x in xs:
            if isinstance(x, bool):
                if not x:
                    return False
                continue
            terms.append(x)
        if not terms:
            return True
        return terms[0] if len(terms) == 1 else _and(terms)

    def or_(self, *xs: Bool) -> Bool:
        terms = []
        for x in xs:
            if isinstance(x, bool):
                if x:
                    return True
                continue
            terms.append(x)
        if not terms:
            return False
        return terms[0] if len(terms) == 1 else _or(terms)

    def not_(self, x: Bool) -> Bool:
        return (not x) if isinstance(x, bool) else _not(x)

    def ite(self, cond: Bool, then: Any, other: Any) -> Any:
        if isinstance(cond, bool):
            return then if cond else other
        if _is_boolish(then) and _is_boolish(other):
            if isinstance(then, bool) and isinstance(other, bool) and then == other:
                return then
            return z3.If(cond, self.boolean(then), self.boolean(other))
        if is_const(then) and is_const(other) and then == other:
            return then
        return z3.If(cond, self.word(then), self.word(other))

    # -- words -----------------------------------------------------------------------

    def eq(self, a: Word, b: Word) -> Bool:
        if _is_boolish(a) and _is_boolish(b):
            if isinstance(a, bool) and isinstance(b, bool):
                return a == b
            return _eq(self.boolean(a), self.boolean(b))
        if is_const(a) and is_const(b):
            return (int(a) - int(b)) % self._modulus == 0
        return _eq(self.word(a), self.word(b))

    def lt(self, a: Word, b: Word) -> Bool:
        if is_const(a) and is_const(b):
            return int(a) % self._modulus < int(b) % self._modulus
        return z3.ULT(self.word(a), self.word(b))

    def add(self, a: Word, b: int) -> Word:
        if is_const(a):
            return int(a) + b
        return a + self.word(b)

    def const(self, value: int) -> Word:
        return value

    def bit(self, mask: Word, node: Word) -> Bool:
        if is_const(node):
            i = int(node)
            if i < 0 or i >= self.width:
                return False
            if is_const(mask):
                return bool((int(mask) >> i) & 1)
            return _bit(mask, i)
        return z3.Extract(0, 0, z3.LShR(self.word(mask), node)) == 1

    def _single(self, node: Word) -> Word:
        """The mask with only bit ``node`` (0 when ``node`` is out of range)."""
        if is_const(node):
            i = int(node)
            return 0 if i < 0 or i >= self.width else 1 << i
        return z3.BitVecVal(1, self.width) << node

    def with_bit(self, mask: Word, node: Word, on: Bool) -> Word:
        single = self._single(node)
        if isinstance(on, bool):
            return self.bor(mask, single) if on else self.without(mask, single)
        return z3.If(on, self.word(self.bor(mask, single)),
                     self.word(self.without(mask, single)))

    def without(self, mask: Word, other: Word) -> Word:
        if is_const(mask) and is_const(other):
            return int(mask) & (~int(other) % self._modulus)
        if is_const(other) and int(other) == 0:
            return mask
        return self.word(mask) & ~self.word(other)

    def band(self, a: Word, b: Word) -> Word:
        if is_const(a) and is_const(b):
            return int(a) & int(b)
        return self.word(a) & self.word(b)

    def bor(self, a: Word, b: Word) -> Word:
        if is_const(a) and is_const(b):
            return int(a) | int(b)
        if is_const(a) and int(a) == 0:
            return b
        if is_const(b) and int(b) == 0:
            return a
        return self.word(a) | self.word(b)

    def is_zero(self, mask: Word) -> Bool:
        if is_const(mask):
            return int(mask) % self._modulus == 0
        return mask == 0

    def at_most_one(self, mask: Word) -> Bool:
        if is_const(mask):
            m = int(mask) % self._modulus
            return m & (m - 1) == 0
        return mask & (mask - 1) == 0

    def popcount_le(self, mask: Word, bound: int, width: int) -> Bool:
        if is_const(mask):
            return (int(mask) & ((1 << width) - 1)).bit_count() <= bound
        if bound >= width:
            return True
        if bound < 0:
            return False
        low = self.word(mask) & z3.BitVecVal((1 << width) - 1, self.width)
        # Clearing the lowest set bit ``bound`` times leaves zero exactly when at most
        # ``bound`` bits were set: ``bound`` subtractions, cheaper than an adder tree for
        # the small bounds of ``assume at most k nodes down``.
        for _ in range(bound):
            low = low & (low - 1)
        return low == 0

    def first(self, options: Sequence[tuple[Bool, Word]], default: Word) -> Word:
        result = default
        for cond, value in reversed(options):
            result = self.ite(cond, value, result)
        return result


def _is_boolish(x: Any) -> bool:
    return isinstance(x, bool | z3.BoolRef)
