"""Components and shapes on several processes: the same results as one process, reported
in the same order (``-j``)."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable

import pytest
from checker_helpers import EXAMPLES
from cli_run import Run

from crg import files
from crg.checker import Engine, Options, check, parallel
from crg.checker.parallel import Board, Slot, run_tasks
from crg.checker.result import Report


def _square(x: int) -> int:
    return x * x


def test_results_come_back_in_the_order_of_the_tasks() -> None:
    seen: list[int] = []
    tasks = [(k,) for k in range(7)]
    assert run_tasks(_square, tasks, 3, lambda i, r: seen.append(i)) == [k * k for k in
                                                                         range(7)]
    assert sorted(seen) == list(range(7))
    assert run_tasks(_square, tasks, 1) == run_tasks(_square, tasks, 3)


def _busy(seconds: float) -> float:
    """A task that runs for ``seconds`` (a long search), unless its process is ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)
    return seconds


def _interrupt(index: int, result: float) -> None:
    raise KeyboardInterrupt  # Ctrl-C in the parent, as the first task comes back


def test_an_interrupt_ends_the_searches_under_way_at_once_and_quietly(
        capfd: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_tasks(_busy, [(0.0,), (60.0,)], 2, _interrupt)
    # Not the 60 s the second task would have taken; and no worker's traceback.
    assert time.monotonic() - started < 30
    assert "Traceback" not in capfd.readouterr().err


_INTERRUPT_AT_FORK: list[bool] = []
"""Armed by a test: the next fork of this process is interrupted (SIGINT), in the parent,
at the moment the fork's hooks run."""


def _interrupt_at_fork() -> None:
    if _INTERRUPT_AT_FORK:
        _INTERRUPT_AT_FORK.clear()
        os.kill(os.getpid(), signal.SIGINT)


os.register_at_fork(after_in_parent=_interrupt_at_fork)


def test_an_interrupt_while_the_workers_are_forked_is_not_lost(
        capfd: pytest.CaptureFixture[str]) -> None:
    # Raised inside the fork's hooks, the KeyboardInterrupt was printed ("Exception
    # ignored in: <function _releaseLock>", a traceback) and dropped: crg check went on
    # to its end and exited 0.
    _INTERRUPT_AT_FORK.append(True)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_tasks(_busy, [(20.0,), (20.0,)], 2)
    finally:
        _INTERRUPT_AT_FORK.clear()
    assert time.monotonic() - started < 15  # the searches were ended, not waited for
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def _facts(report: Report) -> object:
    explicit = report.explicit
    return (
        report.status,
        [(r.prop.label, r.verdict, r.engine, r.depth,
          None if r.violation is None else
          [(s.action, s.state) for s in r.violation.trace.steps])
         for r in report.results.values()],
        None if explicit is None else
        [(c.groups, c.states, c.edges, c.layers, c.complete, c.reused_from, c.symmetry)
         for c in explicit.components],
        None if report.symbolic is None else
        (report.symbolic.verdicts, [(g, sorted((p.label, f.verdict) for p, f in found.items()))
                                    for g, found in report.symbolic.parts]),
    )


@pytest.mark.parametrize("name", ["rac.crg", "web-tier.crg", "broken/no-standby.crg",
                                  "broken/two-down.crg"])
def test_the_explicit_engine_says_the_same_on_one_process_or_two(name: str) -> None:
    config = files.load(str(EXAMPLES / name))
    serial = check(config, Options(engine=Engine.EXPLICIT, jobs=1, symmetry=False))
    parallel = check(config, Options(engine=Engine.EXPLICIT, jobs=2, symmetry=False))
    assert _facts(serial) == _facts(parallel)


def test_the_symbolic_engine_says_the_same_on_one_process_or_two() -> None:
    config = files.load(str(EXAMPLES / "broken" / "no-standby.crg"))
    said: dict[int, list[str]] = {1: [], 2: []}
    serial = check(config, Options(engine=Engine.SYMBOLIC, jobs=1, symmetry=False,
                                   stage=said[1].append))
    parallel = check(config, Options(engine=Engine.SYMBOLIC, jobs=2, symmetry=False,
                                     stage=said[2].append))
    assert _facts(serial) == _facts(parallel)
    # What each stage is, as it begins (crg check's progress line): here, every stage of
    # every component; on two processes the workers say nothing (their parent's terminal
    # is not theirs) and the parent says the components as they come back.
    groups = [g.name for g in config.groups]
    assert [f"{g}: invariants, by induction (z3)" for g in groups] == [
        line for line in said[1] if line.endswith(": invariants, by induction (z3)")]
    assert said[2] == [f"{len(groups)} components proved on 2 processes (z3), none "
                       "decided yet"] + [
        f"{k} of {len(groups)} components decided by the symbolic engine"
        for k in range(1, len(groups) + 1)]


@pytest.mark.parametrize("engine", [Engine.EXPLICIT, Engine.AUTO, Engine.SYMBOLIC])
def test_the_progress_callbacks_stay_in_this_process(engine: Engine) -> None:
    # crg check's callbacks write to its terminal: local functions, which no worker can
    # be sent (a check on two processes stopped with "cannot pickle 'CaptureIO' object")
    seen: list[str] = []

    def stage(what: str) -> None:
        seen.append(what)

    def progress(states: int, layer: int, seconds: float) -> None:
        seen.append(f"{states} states")

    config = files.load(str(EXAMPLES / "web-tier.crg"))
    report = check(config, Options(engine=engine, jobs=2, progress=progress, stage=stage))
    assert report.results
    assert all(r.verdict.value == "holds" for r in report.results.values())
    if engine is Engine.EXPLICIT:  # its components on two processes: said, and counted
        assert any(line.endswith(" components searched on 2 processes") for line in seen)
        assert report.explicit is not None
        assert seen[-1] == f"{report.explicit.states} states"


def _reporting(states: int, layer: int, slot: Slot) -> int:
    """A task that reports its figures, then runs on a while (a long search)."""
    slot(states, layer, 0.0)
    time.sleep(0.5)
    return states


def test_the_workers_figures_reach_the_parent_while_they_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # On several processes the search said only "still checking" until the end, without
    # a figure (an outside tester's finding): the workers' reports stayed in the workers.
    monkeypatch.setattr(parallel, "TICK_S", 0.02)
    read: list[tuple[int, int]] = []
    with Board(2) as board:
        run_tasks(_reporting, [(5, 3, board.slot(0)), (7, 4, board.slot(1))], 2,
                  tick=lambda: read.append(board.read()))
    assert (12, 4) in read


def test_the_report_reads_the_same(crg: Callable[..., Run]) -> None:
    def untimed(text: str) -> str:
        return re.sub(r"\d+\.\d+s", "T", text)

    path = str(EXAMPLES / "web-tier.crg")
    one, two = crg("check", "-j", "1", path), crg("check", "-j", "2", path)
    assert (one.code, untimed(one.out)) == (two.code, untimed(two.out))
