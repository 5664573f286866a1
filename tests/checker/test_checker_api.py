"""``crg.checker.check(config, options) -> Report``: one interface for both engines, the
status decided inside the checker, budgets that end in ``inconclusive`` with the reason,
and no module of the checker importing the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from checker_helpers import EXAMPLES, G, make_config

from crg import files
from crg.checker import CheckError, Engine, Options, Status, Verdict, check
from crg.checker.explicit import engine as explicit_engine
from crg.checker.result import PROPERTIES

SMALL = make_config(2, [G("web", "n1", ("n2",))])
NO_FENCING = files.load(str(EXAMPLES / "broken" / "no-fencing.crg"))
QUICKSTART = files.load(str(EXAMPLES / "quickstart.crg"))


def test_a_safe_config_is_ok_whichever_engine() -> None:
    for engine in Engine:
        report = check(SMALL, Options(engine=engine))
        assert report.status is Status.OK, engine
        assert {r.verdict for r in report.results.values()} == {Verdict.HOLDS}
        assert report.engine == engine.value
        assert (report.explicit is not None) == (engine is not Engine.SYMBOLIC)
        assert (report.symbolic is not None) == (engine in (Engine.SYMBOLIC, Engine.BOTH))


def test_a_violation_is_the_status_and_comes_with_its_trace() -> None:
    report = check(NO_FENCING)
    assert report.status is Status.VIOLATED
    assert {v.prop.label for v in report.violations} == {"vip-unique", "app-exclusive",
                                                         "vip-held"}
    unique = next(v for v in report.violations if v.prop.label == "vip-unique")
    assert (unique.failures, unique.trace.length) == (1, 6)


def test_options_that_do_not_fit_the_config() -> None:
    with pytest.raises(CheckError, match="only 2 nodes"):
        check(NO_FENCING, Options(max_down=3))


def test_the_state_budget_leaves_the_check_inconclusive() -> None:
    report = check(QUICKSTART, Options(engine=Engine.EXPLICIT, max_states=500))
    assert report.status is Status.INCONCLUSIVE
    assert set(report.undecided) == {p.label for p in PROPERTIES}
    assert all("state budget" in r.reason for r in report.results.values())
    assert report.limits and "stopped at its state budget after " in report.limits[0]


def test_a_limit_does_not_call_the_states_explored_the_budget() -> None:
    # --max-states 1000 read "stopped at its state budget of 1,084 states"
    report = check(QUICKSTART, Options(engine=Engine.EXPLICIT, max_states=1000))
    assert report.explicit is not None
    past = [c for c in report.explicit.components if c.limit == "states" and c.states > 1000]
    assert past  # api: its last layer took it past the budget
    assert all(" budget of " not in limit for limit in report.limits), report.limits
    assert f"state budget after {past[0].states:,} states" in " ".join(report.limits)


def test_the_memory_budget_leaves_the_check_inconclusive() -> None:
    # one byte: the first look at the memory (after a few thousand states) stops it
    report = check(QUICKSTART, Options(engine=Engine.EXPLICIT, memory=1,
                                       max_states=10**9, jobs=1))
    assert report.status is Status.INCONCLUSIVE
    assert "memory budget" in report.limits[0]


@pytest.mark.parametrize("jobs", [10**6, 10**30])
def test_more_jobs_than_components_do_not_shrink_the_memory_of_each_search(jobs: int) -> None:
    """The memory budget was divided by ``-j`` whatever the number of searches: one
    component checked with -j 64 had a 64th of it, and with -j 10**6 two bytes: its search
    stopped at once (inconclusive, or handed to z3 under --engine auto)."""
    memory = 2 * 2**20
    one = check(SMALL, Options(engine=Engine.EXPLICIT, memory=memory, jobs=1))
    many = check(SMALL, Options(engine=Engine.EXPLICIT, memory=memory, jobs=jobs))
    assert one.status is Status.OK
    assert many.status is Status.OK, many.limits
    assert many.explicit is not None and one.explicit is not None
    assert [c.states for c in many.explicit.components] == [
        c.states for c in one.explicit.components]


def test_running_out_of_memory_is_inconclusive_not_a_crash(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def starve(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(explicit_engine, "explore", starve)
    report = check(SMALL, Options(engine=Engine.EXPLICIT))
    assert report.status is Status.INCONCLUSIVE
    assert "ran out of memory" in report.limits[0]


def test_auto_hands_a_large_component_to_the_symbolic_engine() -> None:
    report = check(SMALL, Options(auto_states=50))
    assert report.status is Status.OK
    assert report.explicit is not None and report.symbolic is not None
    (component,) = report.explicit.components
    assert component.limit == "auto" and component.states <= 50 + 64
    liveness = next(r for r in report.results.values() if r.prop.liveness)
    assert liveness.engine == "z3" and liveness.verdict is Verdict.HOLDS


def test_a_verdict_z3_reached_counts_z3s_time() -> None:
    # the time column said the explicit search's 0.4 s of a check z3 spent 25 s on
    report = check(SMALL, Options(auto_states=50))
    assert report.symbolic is not None and report.symbolic.seconds > 0
    for result in report.results.values():
        assert result.seconds >= report.symbolic.seconds, result.prop.label


def test_auto_keeps_the_explicit_engines_verdict_where_its_search_finished() -> None:
    report = check(SMALL)
    assert report.symbolic is None
    assert {r.engine for r in report.results.values()} == {"explicit"}


def test_a_component_too_large_for_both_engines_says_so() -> None:
    ring = make_config(3, [G(f"g{k}", f"n{k % 3 + 1}", (f"n{(k + 1) % 3 + 1}",),
                             avoid=(f"g{(k + 1) % 40}",)) for k in range(40)])
    report = check(ring)
    assert report.status is Status.INCONCLUSIVE
    reasons = {r.reason for r in report.results.values()}
    assert any("40 groups linked by avoid" in r for r in reasons), reasons


def test_no_checker_module_imports_the_command_line() -> None:
    checker = Path(__file__).resolve().parents[2] / "checker"
    forbidden = re.compile(r"^\s*(from|import)\s+crg\.(cli|commands|output|errors|files|"
                           r"simulation)\b", re.MULTILINE)
    offenders = [str(p.relative_to(checker)) for p in checker.rglob("*.py")
                 if forbidden.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
