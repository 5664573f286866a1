"""The trace writer (runtime/trace.py): what it cannot write by the time the runtime
stops is said in the log; a new run keeps the previous run's trace (runtime/trace_keep.py)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from crg.dsl import parse
from crg.dsl.model import Config
from crg.runtime import trace_keep
from crg.runtime.conform import check
from crg.runtime.trace import TraceWriter
from crg.runtime.trace_keep import kept_traces
from crg.spec import Model

CONFIG = """cluster c {
  nodes n1 n2
}
group web {
  vip 127.0.0.11/8
  app { start "sleep 600" }
  monitor process
  preferred n1
  possible n2
}
"""


def test_transitions_lost_at_close_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    # A trace on a full disk when the runtime stopped lost its waiting transitions
    # without a word (the events file's losses were logged): `crg conform` would be the
    # first to tell, long after.
    config = parse(CONFIG, "c.crg")
    model = Model.from_config(config, compiled=False)
    trace = TraceWriter(Path("/dev/full"), config, model, "embedded")
    with caplog.at_level(logging.ERROR, logger="crg.runtime"):
        lost = trace.close(timeout_s=0.2)
    assert lost == 1  # the header
    assert ("1 trace line(s) could not be written to /dev/full "
            "(No space left on device)") in caplog.text


def _one_step_trace(path: Path) -> tuple[Config, Model]:
    """A trace at ``path`` of one spec step, as a run left it (written aside, so that
    what ``path`` held is not kept by the writer)."""
    config = parse(CONFIG, "c.crg")
    model = Model.from_config(config, compiled=False)
    scratch = path.with_name("scratch")
    trace = TraceWriter(scratch, config, model, "embedded")
    state = model.initial()
    action = model.decide(state, 0)[0]
    trace.record(action, "n1", state, model.apply(state, action), 1)
    assert trace.close() == 0
    scratch.rename(path)
    return config, model


def test_a_new_run_keeps_the_previous_run_s_trace(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    # An outside tester killed an agent (kill -9) and started it again with the same
    # --trace: the file began again at seq 1, and the crashed run's steps — the run to
    # crg conform — were gone.
    path = tmp_path / "trace.jsonl"
    config, model = _one_step_trace(path)
    before = path.read_text()
    os.utime(path, (0, 86_400 * 365 + 1))  # its last line: 1971-01-01T00:00:01Z
    with caplog.at_level(logging.INFO, logger="crg.runtime"):
        TraceWriter(path, config, model, "node", "n1").close()
    kept = tmp_path / "trace.jsonl.19710101T000001Z"
    assert kept_traces(path) == [kept]
    assert kept.read_text() == before
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert f"n1: the previous run's trace is kept as {kept} (for crg conform)" in caplog.text
    assert len(path.read_text().splitlines()) == 1  # the new run's header
    result = check(config, kept.read_text().splitlines(keepends=True))
    assert result.conforms and result.steps == 1, result.problem


def test_only_the_last_runs_are_kept_and_a_trace_without_steps_is_not(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    config, model = _one_step_trace(path)
    (tmp_path / "trace.jsonl.1").write_text("logrotate's: not crg's to remove\n")
    for second in range(trace_keep.KEEP + 2):
        _one_step_trace(path)
        os.utime(path, (0, second))
        TraceWriter(path, config, model, "embedded").close()  # keeps the one-step trace
    kept = kept_traces(path)
    assert [p.name for p in kept] == [f"trace.jsonl.19700101T00000{s}Z"
                                      for s in range(2, trace_keep.KEEP + 2)]
    assert (tmp_path / "trace.jsonl.1").exists()
    # Only the header now (a run that took no step): emptied, not kept.
    TraceWriter(path, config, model, "embedded").close()
    assert kept_traces(path) == kept
    # Two runs whose last lines fall in the same second both kept.
    _one_step_trace(path)
    os.utime(path, (0, trace_keep.KEEP + 1))
    TraceWriter(path, config, model, "embedded").close()
    assert kept_traces(path)[-1].name == f"trace.jsonl.19700101T00000{trace_keep.KEEP + 1}Z-1"


def test_a_link_at_the_trace_is_not_kept_through(tmp_path: Path) -> None:
    # Only the user's own regular file is renamed: a link stays a link, and opening it
    # for the new run is refused as before (the trace's health says so).
    target = tmp_path / "elsewhere.jsonl"
    _one_step_trace(target)
    link = tmp_path / "trace.jsonl"
    link.symlink_to(target)
    assert trace_keep.keep_previous(link) is None
    assert link.is_symlink() and kept_traces(link) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="plants files of another user (root only)")
def test_another_user_s_files_named_as_kept_traces_are_neither_removed_nor_counted(
        tmp_path: Path) -> None:
    # In a shared directory (/tmp), another user's files named as the newest runs' would
    # have pushed every trace crg kept out of the last five, and crg removed them all.
    path = tmp_path / "trace.jsonl"
    config, model = _one_step_trace(path)
    theirs = [tmp_path / f"trace.jsonl.2999010{n}T000000Z" for n in range(trace_keep.KEEP)]
    for planted in theirs:
        planted.write_text("not crg's\n")
        os.chown(planted, 65534, 65534)
    for _ in range(2):
        _one_step_trace(path)
        TraceWriter(path, config, model, "embedded").close()
    assert all(p.exists() and p.stat().st_uid == 65534 for p in theirs)
    assert len(kept_traces(path)) == trace_keep.KEEP + 2
