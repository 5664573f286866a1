"""A real ``crg run`` in the background, driven the way an operator drives it: the client
commands through :func:`crg.cli.main` in this process (a Python start-up per command
would dominate the tests), ``crg status`` polled through the control socket.

:func:`crg_run` always stops the runtime (SIGTERM, then SIGKILL) whatever the test's
outcome, and on a normal end checks that it exited 0 after halting everything in order
and that its trace passes ``crg conform``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cli_run import Run
from runtime_helpers import Setup, processes_of, stop_runtime, wait_until

from crg.cli import main
from crg.runtime.control import SOCKET, ControlError, request


def crg(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return Run(code, out.getvalue(), err.getvalue())


@dataclass
class Runtime:
    setup: Setup
    process: subprocess.Popen[bytes]

    @property
    def where(self) -> tuple[str, str]:
        return ("--run-dir", str(self.setup.run_dir))

    def crg(self, *argv: str) -> Run:
        """A client command against this runtime."""
        return crg(*argv, *self.where)

    def status(self) -> dict[str, Any]:
        """``crg status --json``'s document (an empty one while the runtime does not
        answer)."""
        try:
            answer = request(self.setup.run_dir / SOCKET, {"op": "status"}, timeout_s=10)
        except ControlError:
            return {}
        status: dict[str, Any] = answer["status"]
        return status

    def group(self, name: str) -> dict[str, Any]:
        return next((g for g in self.status().get("groups", ()) if g["group"] == name), {})

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        path = self.setup.events
        if not path.exists():
            return []
        found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [e for e in found if kind is None or e["event"] == kind]

    def events_written(self, kind: str, count: int, within_s: float = 10) -> list[dict[str, Any]]:
        """The ``kind`` events once at least ``count`` are in the file: a thread writes
        them (a slow disk never holds up the cluster service), so a command's reply can
        come before its line."""
        wait_until(lambda: len(self.events(kind)) >= count, within_s,
                   f"{count} {kind} event(s) written")
        return self.events(kind)

    def log(self) -> str:
        path = self.setup.run_dir.parent / "run.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def crg_run(setup: Setup, started_s: float = 40.0) -> Iterator[Runtime]:
    """``crg run`` on ``setup`` until the body ends (see the module's docstring)."""
    setup.run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(setup.run_dir.parent / "run.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
             str(setup.run_dir), "--trace", str(setup.trace), "--events", str(setup.events)],
            stdout=log, stderr=subprocess.STDOUT)
        runtime = Runtime(setup, process)
        try:
            wait_until(lambda: bool(runtime.status()) or process.poll() is not None,
                       started_s, "the runtime answers")
            assert process.poll() is None, runtime.log()
            yield runtime
        except BaseException:
            stop_runtime(process)
            print(runtime.log()[-20000:])  # shown by pytest when the test failed
            raise
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        finally:
            stop_runtime(process)
    assert code == 0, runtime.log()[-5000:]
    assert "stopped (some groups had to be killed)" not in runtime.log()
    # Every command in the log says who gave it: the drains of its stop, the runtime.
    assert "an unknown client" not in runtime.log()
    assert f"from pid {process.pid}, uid {os.getuid()} (this runtime: stopping" \
        in runtime.log()
    wait_until(lambda: not processes_of(setup.name), 10, "no process of the cluster left")
    conformed = crg("conform", str(setup.path), str(setup.trace))
    assert conformed.code == 0, conformed.out + conformed.err
