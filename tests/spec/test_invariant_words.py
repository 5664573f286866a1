"""The invariants' own words (spec/invariants/words.py) and the rules' helpers are two
statements of the same definitions (SPEC.md section 3): they agree on every view. The
invariants do not read the rules' helpers, so that a slip in one changes the rules alone
and a check catches it (an outside verifier found ``live`` forgetting ``down``, and
``switching_disabled`` counting the owner among the others gone, passing every check);
this test keeps the two from drifting apart while neither has a slip. Also: the settings
the invariants read (``Stated``) are the configuration's."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from spec_helpers import EXAMPLES, topo, view

from crg.dsl import parse
from crg.spec import GroupVars, NodeVars, Topology
from crg.spec.invariants import words
from crg.spec.rules import placement, roles
from crg.spec.rules import view as rules_view
from crg.spec.vocabulary.topology import (
    stated_auto_failback,
    stated_budget,
    stated_failover,
)

N = 4
masks = st.integers(0, (1 << N) - 1)


@st.composite
def views(draw: st.DrawFn) -> object:
    candidates = draw(st.lists(st.integers(0, N - 1), min_size=1, max_size=N, unique=True))
    t = topo(candidates, failover=draw(st.booleans()), budget=draw(st.integers(0, 3)))
    ns = NodeVars(**{f: draw(masks) for f in NodeVars._fields})
    g = GroupVars(owner=draw(st.integers(0, N)), target=draw(st.integers(0, N)),
                  vip=draw(masks), app=draw(masks), mon=draw(masks), wd=draw(masks),
                  ban=draw(masks), restarts=draw(st.integers(0, 3)),
                  announced=draw(st.booleans()), alerted=draw(st.booleans()),
                  blocked_alerted=draw(st.booleans()),
                  stranded_alerted=draw(st.booleans()), failed=draw(st.booleans()),
                  offline=draw(st.booleans()), maintenance=draw(st.booleans()))
    return view(t, g, ns, n_nodes=N)


@settings(max_examples=400, deadline=None)
@given(views())
def test_the_invariants_words_agree_with_the_rules_helpers(v: rules_view.View) -> None:
    for n in range(N):
        for name, mine, theirs in (
                ("live", words.live, rules_view.live), ("up", words.up, rules_view.up),
                ("available", words.available, rules_view.available),
                ("owned", words.owned, rules_view.owned),
                ("holds", words.holds, rules_view.holds),
                ("eligible", words.eligible, rules_view.eligible),
                ("service_up", words.service_up, rules_view.service_up),
                ("runs_app", words.runs_app, roles.runs_app),
                ("leftovers", words.leftovers, roles.leftovers)):
            assert bool(mine(v, n)) == bool(theirs(v, n)), (name, n, v)
    for name, mine_g, theirs_g in (
            ("has_owner", words.has_owner, rules_view.has_owner),
            ("any_available", words.any_available, rules_view.any_available),
            ("switching_disabled", words.switching_disabled, placement.switching_disabled),
            ("blocked", words.blocked, placement.blocked)):
        assert bool(mine_g(v)) == bool(theirs_g(v)), (name, v)


def test_the_stated_settings_are_the_configuration_s() -> None:
    for path in EXAMPLES:
        config = parse(path.read_text(), str(path))
        for g, t in zip(config.groups, Topology.from_config(config).groups, strict=True):
            assert t.stated is not None
            assert (stated_failover(t), stated_auto_failback(t), stated_budget(t)) == (
                g.kind.value == "failover", g.failback.value == "auto", g.restarts), g.name
            # and the rules' reading agrees, while it has no slip
            assert (t.failover, t.auto_failback, t.budget) == (
                stated_failover(t), stated_auto_failback(t), stated_budget(t)), g.name


def test_the_invariants_take_no_helper_of_the_rules_but_moving() -> None:
    """What keeps a slip in a rule's helper from changing the oracle too: the invariant
    modules import from the rules only the view itself, the cache, the registry's tables
    and ``moving`` (the placement, restated declaratively by its own invariants)."""
    import ast

    allowed = {"View", "cached", "moving", "registry", "KINDS"}
    folder = Path(words.__file__).parent
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "crg.spec.rules"):
                taken = {alias.name for alias in node.names}
                assert taken <= allowed, (path.name, node.module, taken - allowed)
