"""crg.checker.symbolic.substitute: the terms z3.substitute gives, for many terms under the
same pairs, with the pairs checked once."""

from __future__ import annotations

import pytest
import z3

from crg.checker.symbolic.substitute import Substitution


def test_the_terms_are_z3_substitutes() -> None:
    x, y, z = (z3.BitVec(name, 8) for name in "xyz")
    p, q = z3.Bools("p q")
    pairs = [(x, y + 1), (p, z3.Not(q))]
    rename = Substitution(pairs)
    for term in (x + z, z3.And(p, x == z), z3.If(p, x, z) * x, z, q):
        assert rename(term).eq(z3.substitute(term, *pairs)), term
    assert Substitution([])(x + z).eq(x + z)


def test_pairs_of_different_sorts_are_refused() -> None:
    with pytest.raises(ValueError, match="same sort"):
        Substitution([(z3.BitVec("x", 8), z3.BitVec("y", 4))])
