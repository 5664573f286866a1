"""The owner-change level of a ranking function (crg.checker.symbolic.owner_moves): it
ranks owners that chase each other where that ends, never a cycle of owner changes, and
whatever z3 decides of liveness the explicit engine finds too."""

from __future__ import annotations

import dataclasses
import time

import pytest
import z3
from checker_helpers import (
    EXAMPLES,
    G,
    explicit,
    liveness_proved_by_z3,
    make_config,
    strengthened,
)
from mutants import LIVENESS

from crg import files
from crg.checker.result import Verdict
from crg.checker.symbolic import owner_moves
from crg.checker.symbolic.api import ProofOptions, prove
from crg.checker.symbolic.ranking import OWNER_LEVEL, Search, find_ranking
from crg.spec import KINDS, ActionKind
from crg.spec.rules.run import Step
from crg.spec.rules.view import View, holds, owned, up
from crg.spec.vocabulary.algebra import Word

FLAPPING = str(EXAMPLES / "broken" / "flapping.crg")


PAIR = make_config(2, [G("a", "n1", ("n2",), avoid=("b",)),
                       G("b", "n1", ("n2",), avoid=("a",))],
                   faults="crash, app-fault")
"""Two groups avoiding each other, with application faults: no sum of atoms bounds how
often one moves because the other moved."""


def test_owners_that_chase_each_other_are_ranked_by_their_changes() -> None:
    info = liveness_proved_by_z3(PAIR)
    assert "one of them the owner changes left of a and b (at most" in info["reason"]
    assert explicit(PAIR).ok  # and the explicit engine agrees


def test_the_owner_level_refuses_a_cycle_of_owner_changes() -> None:
    # The flapping ring stops the greedy construction too; its owners chase each other
    # round a real cycle, which the unrolling of owner changes finds.
    enc, prover = strengthened(files.load(FLAPPING))
    search = Search(enc, prover, time.perf_counter() + 120)
    _, remaining = search.greedy([i for i, _ in search.steps])
    kinds = {prover.templates[i].kind for i in remaining}
    assert {ActionKind.CLAIM, ActionKind.RELEASE_OWNERSHIP} <= kinds
    assert search.owners(remaining) == (
        "the owners of a, b and c can change round a cycle while what they read stays put "
        "(the abstraction of owner changes has one: perhaps a livelock)")
    # and the verdict's reason says so, where nothing else decides
    result = prove(files.load(FLAPPING), ProofOptions(facts=False, liveness_states=0,
                                                      lasso_depth=4))
    reason = result.details["invariants"][LIVENESS]["reason"]
    assert ("no ranking function (no sum of atoms ranks 11 kinds of step of a, b and c, "
            "and the owners of a, b and c can change round a cycle" in reason), reason


def _release_whenever_clean(v: View, n: Word) -> Step:
    # A seeded livelock: ownership is given up by a clean owner whether or not the group
    # must move, so a group claims, releases and claims again for ever.
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), a.not_(holds(v, n)), a.not_(g.announced))
    return guard, g._replace(owner=a.const(0), restarts=a.const(0), failed=a.false)


def test_a_seeded_cycle_of_owner_changes_gets_no_level(
        monkeypatch: pytest.MonkeyPatch) -> None:
    kind = ActionKind.RELEASE_OWNERSHIP
    monkeypatch.setitem(KINDS, kind, dataclasses.replace(KINDS[kind],
                                                         rule=_release_whenever_clean))
    enc, prover = strengthened(PAIR)
    assert find_ranking(enc, prover, 120) is None
    assert any(v.prop.label == LIVENESS for v in explicit(PAIR).violations)


N1, N2 = ("n1",), ("n2",)
LINKED = {
    # pairs avoiding each other with application faults: the greedy levels alone stop
    "pair sharing a home": (make_config(2, [
        G("a", "n1", N2, avoid=("b",), restarts=0),
        G("b", "n1", N2, avoid=("a",), restarts=0)], faults="crash, app-fault"), True),
    "pair, nothing down": (make_config(2, [
        G("a", "n1", N2, avoid=("b",)), G("b", "n1", N2, avoid=("a",))],
        down=0, faults="app-fault"), True),
    "pair with homes apart": (make_config(2, [
        G("a", "n1", N2, avoid=("b",)), G("b", "n2", N1, avoid=("a",))],
        faults="crash, app-fault"), None),
    "pair, one manual": (make_config(2, [
        G("a", "n1", N2, avoid=("b",)), G("b", "n1", N2, "manual", avoid=("a",))],
        faults="crash, app-fault"), None),
    # three groups: the flapping ring (a real cycle of owner changes), and two that settle
    "ring": (make_config(2, [
        G("a", "n1", N2, avoid=("b",)), G("b", "n1", N2, avoid=("c",)),
        G("c", "n1", N2, avoid=("a",))]), False),
    "ring with a manual group": (make_config(2, [
        G("a", "n1", N2, avoid=("b",)), G("b", "n1", N2, "manual", avoid=("c",)),
        G("c", "n1", N2, avoid=("a",))]), None),
    "triangle": (make_config(2, [
        G("a", "n1", N2, avoid=("b", "c")), G("b", "n1", N2, avoid=("a", "c")),
        G("c", "n2", N1, avoid=("a", "b"))]), None),
    # a pair that chases each other and a third that follows both: the pair's owner level
    # first, then the follower's (its readers' owners are context by then). The follower
    # is an instance group: its VIP still moves between n1 and n2 as a and b come and go
    # (offline mode on n2), so it reads and follows both owners as a failover group would,
    # and the owner level is still the pair's alone; its application runs on n1 only,
    # which leaves the explicit engine a third of the states to confirm the verdict in
    # (430,325 instead of 1,364,745: about a third of the time).
    "pair and a follower": (make_config(2, [
        G("a", "n1", N2, avoid=("b",), restarts=0), G("b", "n1", N2, avoid=("a",), restarts=0),
        G("c", "n1", N2, kind="instance", avoid=("a", "b"), restarts=0)],
        down=0, faults="app-fault"), True),
}
"""Name -> (configuration, whether the proof takes the owner level: True, or False where
it must not prove anything, or None where the greedy levels may do without it)."""


@pytest.mark.parametrize("name", LINKED)
def test_what_z3_decides_of_liveness_the_explicit_engine_confirms(name: str) -> None:
    """z3's liveness verdict on each of :data:`LINKED`, confirmed by a full explicit
    search. ("pair and a follower" has an instance group for its follower: it still
    follows both owners with its VIP, in a third of the states; see its comment.)"""
    config, owner_level_used = LINKED[name]
    # liveness_states=0: only z3 decides (a ranking function, or a lasso)
    symbolic = prove(config, ProofOptions(facts=False, liveness_states=0))
    assert symbolic.details["internal_errors"] == []
    verdict = symbolic.verdicts[LIVENESS]
    reason = symbolic.details["invariants"][LIVENESS]["reason"]
    found = next(r for p, r in explicit(config, keep_going=True).results.items()
                 if p.label == LIVENESS)
    if owner_level_used is not None:
        assert (OWNER_LEVEL in reason) == owner_level_used, reason
    if owner_level_used is False:
        assert found.verdict == Verdict.VIOLATED and verdict != "holds", reason
    if verdict != "unknown":
        assert found.verdict == (Verdict.HOLDS if verdict == "holds"
                                 else Verdict.VIOLATED), reason


def test_owners_are_bounded_a_strongly_connected_set_at_a_time() -> None:
    # The pair a, b reads no owner of c: its owner level comes first and leaves c out of
    # the unrolling (c's owner is chosen afresh in every frame), so it is the pair's bound.
    config, _ = LINKED["pair and a follower"]
    enc, prover = strengthened(config)
    search = Search(enc, prover, time.perf_counter() + 300)
    _, remaining = search.greedy([i for i, _ in search.steps])
    found = search.owners(remaining)
    assert not isinstance(found, str), found
    assert [enc.groups[g].name for g in found.groups] == ["a", "b"]
    assert {prover.templates[i].group for i in found.changing} == {0, 1}


def test_the_unrolling_may_take_all_the_time_the_ranking_has(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Each unrolling query was capped at six times a query's limit (three minutes), so
    # --liveness-time 9m gave up after four on a chase that needed six and a half.
    limits: list[int] = []
    solver_for = z3.SolverFor

    def recording(logic: str) -> z3.Solver:
        solver = solver_for(logic)
        set_ = solver.set

        def set_options(*args: object, **kw: int) -> None:
            limits.extend(v for k, v in kw.items() if k == "timeout")
            set_(*args, **kw)

        solver.set = set_options  # type: ignore[method-assign]
        return solver

    monkeypatch.setattr(owner_moves.z3, "SolverFor", recording)
    enc, prover = strengthened(PAIR)
    assert find_ranking(enc, prover, 1_000) is not None
    # (the prover's own solvers keep a query's limit; the unrollings get the time left)
    assert any(ms > 6 * prover.timeout_ms for ms in limits)


def test_the_unrolling_one_node_status_at_a_time_bounds_what_one_over_all_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The node status is context: split by it, the longest of the bounds is the bound of
    # one unrolling over every status (the depths asked are the same).
    enc, prover = strengthened(PAIR)
    search = Search(enc, prover, time.perf_counter() + 300)
    _, remaining = search.greedy([i for i, _ in search.steps])
    statuses: list[int] = []
    split = owner_moves._node_statuses

    def counted(*args: object) -> list[z3.BoolRef]:
        found = split(*args)  # type: ignore[arg-type]
        statuses.append(len(found))
        return found

    monkeypatch.setattr(owner_moves, "_node_statuses", counted)
    # the pair gives its owners up at most 3 times: a path of 2 releases, none of 6
    monkeypatch.setattr(owner_moves, "SHALLOW_RELEASES", 2)
    one_at_a_time = search.owners(remaining)
    # two nodes, at most one down, crashes and application faults: of the statuses up,
    # n1 down and n2 down, an owner is given up (the first frame's step) only with both up
    assert statuses == [1]
    monkeypatch.setattr(owner_moves, "_node_statuses", lambda *_: [z3.BoolVal(True)])
    all_at_once = search.owners(remaining)
    assert not isinstance(one_at_a_time, str), one_at_a_time
    assert not isinstance(all_at_once, str), all_at_once
    assert one_at_a_time.moves == all_at_once.moves
