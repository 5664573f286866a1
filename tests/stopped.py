"""Stop a process for a test and return only once it has stopped.

``kill(pid, SIGSTOP)`` returns before the target stops: one of its threads has to be
scheduled to take the signal and stop the others, and on a loaded machine the others
run on, answering requests, for milliseconds more. A test that means "from now on it
is silent" waits until every thread is in the stopped state."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _states(pid: int) -> list[str]:
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            # The state follows the command name, which is in parentheses and may hold any
            # character: read it after the last ')'.
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            continue  # a thread that ended meanwhile
    return states


def stop(pid: int, within: float = 10.0) -> None:
    """SIGSTOP ``pid`` and wait until all of its threads are stopped."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = _states(pid)
        if states and all(s in ("T", "t") for s in states):
            return
        time.sleep(0.002)
    raise AssertionError(f"process {pid} did not stop within {within} s: {_states(pid)}")
