"""The trace writer (runtime/trace.py): what it cannot write by the time the runtime
stops is said in the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from crg.dsl import parse
from crg.runtime.trace import TraceWriter
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
