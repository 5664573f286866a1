"""Each state invariant states itself in its docstring's first paragraph (what reports
print) and quotes, in the second, claims it serves — claims listed in its ``claims``."""

from __future__ import annotations

import re

import pytest

from crg.spec.invariants import STATE_INVARIANTS, StateInvariant


@pytest.mark.parametrize("inv", STATE_INVARIANTS, ids=lambda i: i.name)
def test_docstring_states_and_quotes_claims(inv: StateInvariant) -> None:
    paragraphs = (inv.predicate.__doc__ or "").strip().split("\n\n")
    assert len(paragraphs) == 2, "a statement, then the claims it serves"
    assert inv.statement == paragraphs[0]
    quoted = paragraphs[1].strip()
    match = re.match(r"Claims? ([\d, ]+):", quoted)
    assert match, f"the second paragraph names its claims: {quoted[:40]!r}"
    numbers = {int(n) for n in match.group(1).split(",")}
    assert numbers <= set(inv.claims), f"claims {numbers - set(inv.claims)} not listed"
    assert '"' in quoted, "it quotes the claims' words"
