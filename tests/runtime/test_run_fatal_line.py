"""The error that ends ``crg run`` is the last line of its log, in the log's shape: a JSON
object with ``--log-format json``; a ``<3>`` (error) syslog priority for the journal, chosen
with ``--log-format journal`` or by itself when standard error is the journal's stream
(``JOURNAL_STREAM``), so that ``journalctl -p warning`` shows why the service failed.
The error here is a real one: the ``--http`` port is held by another socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

CONFIG = """cluster fatal { nodes n1 }
group web {
  vip 127.0.77.21/8
  app { start "sleep 1000" }
  monitor process
  preferred n1
}
"""


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def failed_run(tmp_path: Path, port: int, *flags: str, journal: bool = False) -> list[str]:
    """The lines ``crg run`` wrote to standard error (a file: the journal's stream is one
    too, and ``journal`` makes this one the journal's) before it exited 2."""
    config = tmp_path / "one.crg"
    config.write_text(CONFIG)
    err_path = tmp_path / "stderr"
    with err_path.open("w") as err:
        # not the journal's unless asked, even if this test runs under systemd
        environ = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal:
            info = os.fstat(err.fileno())
            environ["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
        done = subprocess.run([sys.executable, "-m", "crg", "run", str(config), "--run-dir",
                               str(tmp_path / "run"), "--http", f"127.0.0.1:{port}", *flags],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=err, env=environ, timeout=60, check=False)
    lines = err_path.read_text().splitlines()
    assert done.returncode == 2, lines
    return [line for line in lines if line.strip()]


def test_json_log_ends_with_the_error_as_json(tmp_path: Path, taken_port: int) -> None:
    last = json.loads(failed_run(tmp_path, taken_port, "--log-format", "json")[-1])
    assert last["level"] == "error"
    assert last["logger"] == "crg"
    assert f"--http 127.0.0.1:{taken_port}: cannot listen" in last["message"]
    assert "address already in use" in last["message"]


@pytest.mark.parametrize("how", ["--log-format journal", "JOURNAL_STREAM"])
def test_journal_log_ends_with_the_error_at_error_priority(tmp_path: Path, taken_port: int,
                                                           how: str) -> None:
    if how == "JOURNAL_STREAM":
        lines = failed_run(tmp_path, taken_port, journal=True)
    else:
        lines = failed_run(tmp_path, taken_port, *how.split())
    assert lines[-1].startswith(f"<3>crg: error: --http 127.0.0.1:{taken_port}: cannot "
                                "listen"), lines


def test_a_text_log_ends_with_the_error_as_every_command_says_it(tmp_path: Path,
                                                                 taken_port: int) -> None:
    last = failed_run(tmp_path, taken_port, "--log-format", "text")[-1]
    assert last.startswith(f"crg: error: --http 127.0.0.1:{taken_port}: cannot listen"), last


BROKEN = """cluster fatal { nodes n1 n2 }
group lone {
  vip 127.0.77.22/8
  app { start "sleep 1000" }
  monitor process
  preferred n1
}
group typo {
  vip 127.0.77.23/8
  app { start "sleep 1000" }
  monitor process
  preferred n1
  possible n9
}
"""


@pytest.mark.parametrize("shape", ["json", "journal"])
def test_a_configuration_s_diagnostics_are_log_records_too(tmp_path: Path, shape: str) -> None:
    """A configuration error is what most often ends a service's start: with a JSON or
    journal log it is one record per diagnostic in that shape (a warning at warning
    level), not crg check's multi-line blocks that a log shipper would split."""
    config = tmp_path / "broken.crg"
    config.write_text(BROKEN)
    done = subprocess.run([sys.executable, "-m", "crg", "run", str(config), "--run-dir",
                           str(tmp_path / "run"), "--log-format", shape],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if shape == "json":
        records = [json.loads(line) for line in lines]
        said = [(r["level"], r["message"]) for r in records]
    else:
        said = [("error" if line.startswith("<3>") else "warning" if line.startswith("<4>")
                 else line, line[3:]) for line in lines]
    assert ("error", f"{config}:13:12: error: unknown node 'n9' (hint: expected one of: "
            "n1, n2)") in said, said
    warnings = [message for level, message in said if level == "warning"]
    assert warnings and all(m.startswith(f"{config}:") and ": warning: " in m
                            for m in warnings), said
    assert len(said) == len(warnings) + 1, said


def test_a_missing_configuration_is_a_json_record(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "crg", "run", str(tmp_path / "none.crg"),
                           "--log-format", "json"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    record = json.loads(done.stderr.strip())
    assert record["level"] == "error" and "none.crg" in record["message"], record
