"""The z3 algebra means what the concrete algebra means: every operation, on random
values, gives the same answer evaluated by z3 as computed in Python — including the
"no node" index -1 that a reference 0 decodes to."""

from __future__ import annotations

from typing import Any

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from crg.checker.symbolic.algebra import Z3Algebra, word_width
from crg.spec.vocabulary.algebra import CONCRETE

N = 5
WIDTH = word_width(N, 3)
A = Z3Algebra(WIDTH)
masks = st.integers(0, (1 << N) - 1)
nodes = st.integers(-1, N - 1)
bools = st.booleans()


def sym_word(x: int) -> z3.BitVecRef:
    """A z3 term (not a folded Python int) for ``x``."""
    return z3.BitVecVal(x % (1 << WIDTH), WIDTH)


def sym_bool(x: bool) -> z3.BoolRef:
    return z3.BoolVal(x)


def value(x: Any) -> Any:
    if isinstance(x, bool | int):
        return x
    y = z3.simplify(x)
    if z3.is_bool(y):
        return z3.is_true(y)
    return y.as_long()


def same_word(concrete: int, symbolic: Any) -> bool:
    return concrete % (1 << WIDTH) == value(symbolic) % (1 << WIDTH)


@settings(max_examples=150, deadline=None)
@given(masks, masks, nodes, bools, bools)
def test_every_operation_agrees(m: int, o: int, n: int, p: bool, q: bool) -> None:
    c, a = CONCRETE, A
    sm, so, sn, sp, sq = sym_word(m), sym_word(o), sym_word(n), sym_bool(p), sym_bool(q)
    assert value(a.and_(sp, sq, True)) == c.and_(p, q, True)
    assert value(a.or_(sp, sq, False)) == c.or_(p, q, False)
    assert value(a.not_(sp)) == c.not_(p)
    assert value(a.ite(sp, sq, sp)) == c.ite(p, q, p)
    assert same_word(c.ite(p, m, o), a.ite(sp, sm, so))
    assert same_word(c.ite(p, m, 3), a.ite(sp, sm, 3))
    assert value(a.eq(sm, so)) == c.eq(m, o)
    assert value(a.eq(sp, sq)) == c.eq(p, q)
    assert value(a.lt(sm, so)) == c.lt(m, o)
    assert same_word(c.add(m, 1), a.add(sm, 1))
    # Bits, with a concrete node, a symbolic node, and node -1 ("no node") both ways.
    assert value(a.bit(sm, n)) == c.bit(m, n)
    assert value(a.bit(sm, sn)) == c.bit(m, n)
    assert value(a.bit(m, sn)) == c.bit(m, n)
    for on in (True, False):
        assert same_word(c.with_bit(m, n, on), a.with_bit(sm, n, on))
        assert same_word(c.with_bit(m, n, on), a.with_bit(sm, sn, on))
    assert same_word(c.with_bit(m, n, p), a.with_bit(sm, sn, sp))
    assert same_word(c.without(m, o), a.without(sm, so))
    assert same_word(c.band(m, o), a.band(sm, so))
    assert same_word(c.bor(m, o), a.bor(sm, so))
    assert value(a.is_zero(sm)) == c.is_zero(m)
    assert value(a.at_most_one(sm)) == c.at_most_one(m)
    for bound in range(N + 1):
        assert value(a.popcount_le(sm, bound, N)) == c.popcount_le(m, bound, N)
        assert value(a.popcount_le(sm, bound, N - 2)) == c.popcount_le(m, bound, N - 2)
    options = [(p, m), (q, o)]
    sym_options = [(sp, sm), (sq, so)]
    assert same_word(c.first(options, 7), a.first(sym_options, 7))


@given(masks, nodes)
def test_constants_fold_to_python_values(m: int, n: int) -> None:
    # Constant arguments never build z3 terms: the configuration's constants fold away.
    assert A.bit(m, n) is CONCRETE.bit(m, n)
    assert A.with_bit(m, n, True) == CONCRETE.with_bit(m, n, True)
    assert A.and_(True, A.bit(m, n)) is CONCRETE.bit(m, n)


def test_no_node_is_out_of_range() -> None:
    # The width leaves room: -1 wraps to a value at or beyond the width, where a shift
    # leaves nothing.
    for n_nodes in range(1, 70):
        width = word_width(n_nodes, 2)
        assert width >= n_nodes
        assert (1 << width) - 1 >= width
        assert width >= (n_nodes + 1).bit_length()
