"""``crg status`` against a real ``crg run`` (runtime/status.py): the application word
and its pid say what the process is doing while a step is under way."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from cli_runtime import crg_run
from runtime_helpers import two_nodes, wait_until

pytestmark = pytest.mark.timeout(120)

STUBBORN = ("    start \"python3 -c 'import pathlib, signal, sys, time; "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); pathlib.Path(sys.argv[1]).touch(); "
            "time.sleep(600)' {ready}\"\n"
            "    stop signal TERM timeout 4s")
"""An application that ignores SIGTERM (once ``ready`` exists): its stop takes the
whole 4 s, then SIGKILL."""


def test_an_application_being_stopped_for_a_move_shows_stopping_and_its_pid(
        tmp_path: Path) -> None:
    ready = tmp_path / "ignoring-sigterm"
    setup = two_nodes(tmp_path, STUBBORN.format(ready=ready))
    with crg_run(setup) as runtime:
        wait_until(lambda: runtime.group("job").get("app") == "up" and ready.exists(), 40,
                   "job up on n1, ignoring SIGTERM")
        pid = runtime.group("job")["pid"]
        moved = runtime.crg("switchover", "job", "n2", "--no-wait")
        assert moved.code == 0, moved.err
        # While n1 stops it (4 s), the process is alive and said to be stopping, pid and
        # all. (The instant between the monitors stopped and the stop begun is the spec's
        # word: spec/present/modes.py calls it starting, see the runtime's status_of.)
        seen: list[tuple[object, ...]] = []

        def stopping() -> bool:
            job = runtime.group("job")
            seen.append((job.get("node"), job.get("mode"), job.get("app"), job.get("pid")))
            return seen[-1] == ("n1", "moving", "stopping", pid)

        try:
            wait_until(stopping, 10, "job stopping on n1, with its pid")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; seen: {sorted(set(seen))}") from None
        assert psutil.pid_exists(pid)
        wait_until(lambda: (runtime.group("job").get("node"), runtime.group("job").get("app"))
                   == ("n2", "up"), 30, "job up on n2")
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
