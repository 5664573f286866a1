"""The vocabulary the rules are written in, so that one rule text has two meanings.

Every rule and invariant in ``crg.spec`` is a function of an :class:`Algebra` and of state
variables. With :data:`CONCRETE` the variables are Python ints and bools and a rule
*computes* its guard and next state: this is what ``crg simulate``, the explicit-state
checker and the runtime execute. The symbolic engine (``crg.checker``) passes an algebra
whose values are z3 terms, and the very same functions *build* the transition relation
that k-induction reasons about. Hence the restriction the rules live by: no Python
``and``/``or``/``not``/``if`` on state-dependent values — use the algebra's
``and_``/``or_``/``not_``/``ite`` instead. Control flow over *configuration* (candidate
lists, kinds, policies) is plain Python: it is constant for a given model.

Bit masks have one bit per node (bit ``n`` for node index ``n``). Node references inside
the state (owner, switchover target) are stored as ``index + 1``, with ``0`` meaning none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

# The value types are deliberately loose: ints/bools concretely, z3 terms symbolically.
Bool = Any
Word = Any


class Algebra(Protocol):
    true: Bool
    false: Bool

    def and_(self, *xs: Bool) -> Bool: ...
    def or_(self, *xs: Bool) -> Bool: ...
    def not_(self, x: Bool) -> Bool: ...
    def ite(self, cond: Bool, then: Any, other: Any) -> Any: ...
    def eq(self, a: Word, b: Word) -> Bool: ...
    def lt(self, a: Word, b: Word) -> Bool: ...
    def add(self, a: Word, b: int) -> Word: ...
    def const(self, value: int) -> Word: ...
    def bit(self, mask: Word, node: Word) -> Bool:
        """Is bit ``node`` of ``mask`` set? ``node`` may be symbolic."""
        ...
    def with_bit(self, mask: Word, node: Word, on: Bool) -> Word:
        """``mask`` with bit ``node`` set to ``on``."""
        ...
    def without(self, mask: Word, other: Word) -> Word:
        """``mask & ~other``."""
        ...
    def band(self, a: Word, b: Word) -> Word: ...
    def bor(self, a: Word, b: Word) -> Word: ...
    def is_zero(self, mask: Word) -> Bool: ...
    def at_most_one(self, mask: Word) -> Bool:
        """At most one bit set."""
        ...
    def popcount_le(self, mask: Word, bound: int, width: int) -> Bool:
        """At most ``bound`` of the low ``width`` bits are set."""
        ...
    def first(self, options: Sequence[tuple[Bool, Word]], default: Word) -> Word:
        """The value of the first option whose condition holds, else ``default``."""
        ...


class ConcreteAlgebra:
    """Plain Python evaluation; the reference meaning of every rule."""

    true = True
    false = False

    @staticmethod
    def and_(*xs: bool) -> bool:
        return all(xs)

    @staticmethod
    def or_(*xs: bool) -> bool:
        return any(xs)

    @staticmethod
    def not_(x: bool) -> bool:
        return not x

    @staticmethod
    def ite(cond: bool, then: Any, other: Any) -> Any:
        return then if cond else other

    @staticmethod
    def eq(a: int, b: int) -> bool:
        return a == b

    @staticmethod
    def lt(a: int, b: int) -> bool:
        return a < b

    @staticmethod
    def add(a: int, b: int) -> int:
        return a + b

    @staticmethod
    def const(value: int) -> int:
        return value

    @staticmethod
    def bit(mask: int, node: int) -> bool:
        # Node -1 is what "no node" (reference 0) decodes to; it has no bit.
        return node >= 0 and bool((mask >> node) & 1)

    @staticmethod
    def with_bit(mask: int, node: int, on: bool) -> int:
        if node < 0:
            return mask
        return mask | (1 << node) if on else mask & ~(1 << node)

    @staticmethod
    def without(mask: int, other: int) -> int:
        return mask & ~other

    @staticmethod
    def band(a: int, b: int) -> int:
        return a & b

    @staticmethod
    def bor(a: int, b: int) -> int:
        return a | b

    @staticmethod
    def is_zero(mask: int) -> bool:
        return mask == 0

    @staticmethod
    def at_most_one(mask: int) -> bool:
        return mask & (mask - 1) == 0

    @staticmethod
    def popcount_le(mask: int, bound: int, width: int) -> bool:
        return (mask & ((1 << width) - 1)).bit_count() <= bound

    @staticmethod
    def first(options: Sequence[tuple[bool, int]], default: int) -> int:
        for cond, value in options:
            if cond:
                return value
        return default


CONCRETE: Algebra = ConcreteAlgebra()

