"""The command line end to end, as an operator uses it: ``crg run`` in the background,
``crg status``, ``crg switchover``, ``crg crash``/``join``, mistakes answered with exit
code 2, SIGTERM leaving nothing behind, ``crg conform`` on the trace it wrote."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import logging
import os
import random
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from runtime_helpers import (
    CLUSTERS,
    FAST_CLUSTER,
    free_vip,
    processes_of,
    quickstart,
    serves,
    stop_runtime,
    two_nodes,
    wait_until,
)

from crg.cli import main
from crg.runtime.control import SOCKET, ControlError, request
from crg.runtime.fingerprint import fingerprint
from crg.runtime.operator import CLEANUP_STORE_RESET

pytestmark = pytest.mark.timeout(120)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def crg(*args: str) -> Result:
    """The client commands through :func:`crg.cli.main` in this process (a Python
    start-up per command would dominate the test); the runtime itself is a real
    ``crg run`` process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def read_until(process: subprocess.Popen[bytes], done: Callable[[str], bool],
               timeout_s: float) -> str:
    """What ``process`` wrote on its standard output until ``done`` holds for it (bounded
    by ``timeout_s``), read as it comes."""
    shown = b""
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while not done(shown.decode(errors="replace")):
            left = deadline - time.monotonic()
            assert left > 0, f"never came: {shown.decode(errors='replace')}"
            if selector.select(timeout=min(left, 1.0)):
                chunk = os.read(process.stdout.fileno(), 65536)
                assert chunk, f"ended: {shown.decode(errors='replace')}"
                shown += chunk
    return shown.decode(errors="replace")


def test_run_operate_and_stop(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)
    where = ("--run-dir", str(setup.run_dir))
    runtime = subprocess.Popen(
        [sys.executable, "-m", "crg", "run", str(setup.path), *where, "--trace",
         str(setup.trace), "--events", str(setup.events)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    children: list[psutil.Process] = []
    try:
        def modes() -> dict[str, tuple[str, str]]:
            # Polled through the control socket directly, as crg status does (a crg
            # process per poll would cost a Python start-up each).
            try:
                answer = request(setup.run_dir / SOCKET, {"op": "status"}, timeout_s=5)
            except ControlError:
                return {}
            groups: list[dict[str, Any]] = answer["status"]["groups"]
            return {g["group"]: (g["node"], g["mode"]) for g in groups}

        def events() -> list[dict[str, Any]]:
            lines = setup.events.read_text().splitlines() if setup.events.exists() else []
            # A line is written whole by a thread: the last may still be coming.
            return [json.loads(line) for line in lines if line.endswith("}")]

        wait_until(lambda: modes() == {"web": ("n1", "normal"), "api": ("n2", "normal"),
                                       "report": ("n3", "normal")}, 40, "every group up")
        assert serves(setup.url("web"))
        table = crg("status", *where)
        assert table.returncode == 0 and "web" in table.stdout and "normal" in table.stdout
        as_json = json.loads(crg("status", "--json", *where).stdout)
        assert as_json["nodes"] == {"n1": "up", "n2": "up", "n3": "up"}

        moved = crg("switchover", "api", "n3", *where)
        assert moved.returncode == 0, moved.stderr
        wait_until(lambda: modes().get("api") == ("n3", "failover"), 15, "api on n3")
        watched = subprocess.Popen([sys.executable, "-m", "crg", "status", "--watch", *where],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # Into a pipe, every refresh is printed whole and flushed: interrupted once
            # two have come (it asks the runtime again and again, and Ctrl-C ends it).
            shown = read_until(watched, lambda text: text.count("\napi ") >= 2, 60)
            watched.send_signal(signal.SIGINT)
            rest, errors_bytes = watched.communicate(timeout=30)
            shown += rest.decode(errors="replace")
            errors = errors_bytes.decode(errors="replace")
        finally:
            if watched.poll() is None:
                watched.kill()
                watched.communicate()
        assert watched.returncode == 130, errors
        assert "Traceback" not in errors
        api_row = next(line for line in shown.splitlines() if " api " in f" {line} ")
        assert "n3" in api_row and "failover" in api_row, shown

        for bad, message in ((("switchover", "api", "n9"), "unknown node 'n9'"),
                             (("switchover", "wbe", "n2"), "did you mean web?"),
                             (("join", "n1"), "only a crashed node can join")):
            refused = crg(*bad, *where)
            assert refused.returncode == 2, (bad, refused.stderr)
            assert message in refused.stderr and "Traceback" not in refused.stderr
        # Known names that do not go together are no mistake of usage: the command cannot
        # take effect, refused (5) like any other, and in the events like any other.
        for op in ("switchover", "cleanup"):
            outside = crg(op, "report", "n2", *where)
            assert outside.returncode == 5, (op, outside.stderr)
            assert f"{op} report n2: refused: n2 is not a candidate of report" \
                in outside.stderr and "crg: error" not in outside.stderr
        # The embedded store lives in this process: it never lost what it held, so
        # there is no note of it to clear.
        reset = crg("cleanup", "--store-reset", *where)
        assert reset.returncode == 5, reset.stderr
        assert "cleanup --store-reset: refused: nothing to clear" in reset.stderr
        wait_until(lambda: [(e["command"], e["args"], e["result"]) for e in events()
                            if e["event"] == "command" and (
                                e["args"][:1] == ["report"]
                                or e["command"] == CLEANUP_STORE_RESET)]
                   == [("switchover", ["report", "n2"], "refused"),
                       ("cleanup", ["report", "n2"], "refused"),
                       (CLEANUP_STORE_RESET, [], "refused")], 10,
                   "the three refusals in the events")

        assert crg("crash", "n1", *where).returncode == 0
        wait_until(lambda: modes().get("web") == ("n2", "failover"), 15, "web on n2")
        wait_until(lambda: serves(setup.url("web")), 10, "web serves from n2")
        assert crg("join", "n1", *where).returncode == 0
        wait_until(lambda: modes().get("web") == ("n1", "normal"), 15, "web back on n1")

        children = psutil.Process(runtime.pid).children(recursive=True)
        assert children
        runtime.send_signal(signal.SIGTERM)
        output, _ = runtime.communicate(timeout=30)
        assert runtime.returncode == 0, output
        assert "stopped" in output
    finally:
        if runtime.poll() is None:
            print(stop_runtime(runtime))  # shown by pytest when the test failed
    wait_until(lambda: not processes_of(setup.name), 5, "no process left")
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not (setup.run_dir / "control.sock").exists()
    assert "no crg runtime is running" in crg("status", *where).stderr

    conform = crg("conform", str(setup.path), str(setup.trace))
    assert conform.returncode == 0, conform.stdout + conform.stderr
    assert "conforms" in conform.stdout


def test_conform_reports_the_first_bad_step(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)
    digest = hashlib.sha256(setup.path.read_bytes()).hexdigest()
    header: dict[str, Any] = {"trace": 1, "cluster": setup.name, "mode": "embedded",
                              "node": None, "nodes": ["n1", "n2", "n3"],
                              "groups": ["web", "api", "report"], "config_sha256": digest}
    step: dict[str, Any] = {"seq": 1, "agent": "n1", "action": "claim", "group": "web",
                            "node": "n1", "system": True, "state": "0"}
    trace = tmp_path / "bad.jsonl"

    def conform(*lines: dict[str, Any]) -> Result:
        trace.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return crg("conform", str(setup.path), str(trace))

    result = conform(header, step)  # a legal step, but not the state it says it reached
    assert result.returncode == 1
    assert "step 1 (n1: claim web)" in result.stdout and "differs" in result.stdout
    result = conform(header, {**step, "action": "acquire-vip"})
    assert result.returncode == 1 and "not enabled" in result.stdout
    result = conform(header, {**step, "seq": 3})  # a trace that lost lines
    assert result.returncode == 1
    assert "step 3: step(s) 1 to 2 are missing from the trace" in result.stdout
    result = conform({**header, "nodes": ["a", "b"]})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # the same nodes and groups, but an edited text: another configuration
    result = conform({**header, "config_sha256": hashlib.sha256(b"edited").hexdigest()},
                     step)
    assert result.returncode == 2, result
    assert "another configuration" in result.stderr and "Traceback" not in result.stderr
    # With the fingerprint in the header, what counts is what the configuration means:
    # another text of it (comments, layout) is a warning; another meaning exits 2.
    same = fingerprint(setup.config)[0]
    result = conform({**header, "config_sha256": "other text", "config_fingerprint": same})
    assert result.returncode == 0, result
    assert "another text of the same configuration" in result.stderr
    result = conform({**header, "config_fingerprint": "0" * 64})
    assert result.returncode == 2 and "another configuration" in result.stderr
    trace.write_text("not json\n")
    assert crg("conform", str(setup.path), str(trace)).returncode == 2
    # A last line cut off (the runtime killed while it wrote it) is left out with a
    # warning; a broken line with more after it is still bad input.
    whole = json.dumps(header) + "\n"
    trace.write_text(whole + json.dumps(step)[:20])
    result = crg("conform", str(setup.path), str(trace))
    assert result.returncode == 0, result
    assert "line 2, the last, was cut off" in result.stderr
    trace.write_text(whole + json.dumps(step)[:20] + "\n" + json.dumps(step) + "\n")
    assert crg("conform", str(setup.path), str(trace)).returncode == 2
    trace.write_bytes(json.dumps(header).encode() + b"\n\xff\xfe garbage\n")
    result = crg("conform", str(setup.path), str(trace))
    assert result.returncode == 2, result
    assert f"{trace}: not a trace: it is not UTF-8 text" in result.stderr
    assert "bug in crg" not in result.stderr


def test_one_runtime_per_run_directory_even_when_started_together(tmp_path: Path) -> None:
    """Two ``crg run`` on one run directory at the same instant: the run directory's lock
    lets exactly one run; the other exits 2 before it starts anything."""
    setup = quickstart(tmp_path)
    argv = [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
            str(setup.run_dir)]
    both = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for _ in range(2)]
    try:
        wait_until(lambda: any(p.poll() is not None for p in both), 30,
                   "one of the two runtimes gave up")
        loser = next(p for p in both if p.poll() is not None)
        winner = next(p for p in both if p is not loser)
        said = loser.communicate(timeout=10)[0]
        assert loser.returncode == 2, said
        assert "already running with the run directory" in said and "Traceback" not in said
        assert f"(pid {winner.pid})" in said
        wait_until(lambda: (setup.run_dir / SOCKET).exists(), 30, "the winner serves")
        assert request(setup.run_dir / SOCKET, {"op": "status"}, timeout_s=5)["ok"]
        assert winner.poll() is None
        winner.send_signal(signal.SIGTERM)
        output = winner.communicate(timeout=30)[0]
        assert winner.returncode == 0, output
    finally:
        for p in both:
            stop_runtime(p)
    wait_until(lambda: not processes_of(setup.name), 5, "no process left")


def test_a_restart_sweeps_the_orphans_of_a_killed_runtime_first(tmp_path: Path) -> None:
    """``kill -9`` of ``crg run`` leaves its applications running (they hold their ports);
    ``crg run`` on the same run directory kills them before any group starts, says so,
    and its own groups start without a fault."""
    setup = quickstart(tmp_path)
    argv = [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
            str(setup.run_dir)]

    def all_up() -> bool:
        try:
            answer = request(setup.run_dir / SOCKET, {"op": "status"}, timeout_s=5)
        except ControlError:
            return False
        return all(g["app"] == "up" and g["mode"] == "normal"
                   for g in answer["status"]["groups"])

    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second: subprocess.Popen[str] | None = None
    try:
        wait_until(all_up, 40, "every group up")
        first.kill()
        first.wait(timeout=10)
        orphans = {p.pid for p in processes_of(setup.name)}
        assert len(orphans) == 3, "one application per group outlives the runtime"
        second = subprocess.Popen([*argv, "--events", str(setup.events)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_until(all_up, 40, "every group up again")
        assert not orphans & {p.pid for p in processes_of(setup.name)}, "orphans survived"
        second.send_signal(signal.SIGTERM)
        output = second.communicate(timeout=30)[0]
        assert second.returncode == 0, output
    finally:
        for proc in (first, second):
            if proc is not None:
                stop_runtime(proc)
    assert "killed 3 process(es) left by an earlier runtime" in output
    assert all(str(pid) in output for pid in orphans)
    events = [json.loads(line) for line in setup.events.read_text().splitlines()]
    assert not [e for e in events if e["event"] == "fault"], "a group paid for an orphan"
    wait_until(lambda: not processes_of(setup.name), 5, "no process left")


def test_a_second_sigterm_lets_the_drain_finish(tmp_path: Path) -> None:
    """An outside tester's finding: a second SIGTERM while ``crg run`` drained (an
    impatient kill, a supervisor repeating it) killed everything at once and exited 130,
    as only a second Ctrl-C is documented to. SIGTERM asks for an orderly stop however
    often it comes."""
    ready = tmp_path / "ready"
    setup = two_nodes(tmp_path, (
        "    start \"python3 -c 'import signal, time; signal.signal(signal.SIGTERM, "
        f"signal.SIG_IGN); open(\\\"{ready}\\\", \\\"w\\\").close(); time.sleep(120)'\"\n"
        "    stop signal TERM timeout 3s"))
    proc = subprocess.Popen([sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
                             str(setup.run_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_until(ready.exists, 40, "the application ignoring SIGTERM")
        proc.send_signal(signal.SIGTERM)
        read_until(proc, lambda shown: "stopping: draining" in shown, 30)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0].decode(errors="replace")
    finally:
        output = stop_runtime(proc)
    assert proc.returncode == 0, rest + output
    assert "already stopping: the drain goes on" in rest
    assert "everything killed" not in rest
    wait_until(lambda: not processes_of(setup.name), 5, "no process left")


def test_sigterm_leaves_no_process_a_hook_daemonised(tmp_path: Path) -> None:
    """A hook command that starts a daemon (``setsid``) has escaped the process group its
    time limit kills, and carries no group mark for a watchdog: ``crg run`` stopped by
    SIGTERM left it running, against 'exits with no process left behind'."""
    name = f"hk{uuid.uuid4().hex[:8]}"
    CLUSTERS.append(name)
    rng = random.Random(uuid.uuid4().int)
    web, api = free_vip(rng), free_vip(rng)
    pids = tmp_path / "daemons.txt"
    hook = f"sh -c 'setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $! >> {pids}'"
    path = tmp_path / "hooks.crg"
    path.write_text(FAST_CLUSTER.format(name=name) + f"""
group web {{
  vip {web}/8
  app {{ start "sleep 600" }}
  monitor process every 200ms
  preferred n1
  possible n2
  notify api
}}
group api {{
  vip {api}/8
  app {{ start "sleep 600" }}
  monitor process every 200ms
  preferred n2
  possible n1
  notify none
  hook command "{hook}"
}}
""")
    run_dir = tmp_path / "run"
    runtime = subprocess.Popen([sys.executable, "-m", "crg", "run", str(path), "--run-dir",
                                str(run_dir)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    daemons: list[int] = []
    try:
        wait_until(lambda: pids.exists() and pids.read_text().strip() != "", 40,
                   "the hook ran and started its daemon")
        daemons = [int(pid) for pid in pids.read_text().split()]
        assert all(psutil.pid_exists(pid) for pid in daemons)
        runtime.send_signal(signal.SIGTERM)
        output = runtime.communicate(timeout=60)[1]
        assert runtime.returncode == 0, output
        daemons = [int(pid) for pid in pids.read_text().split()]  # the drain's hooks too
        assert not [pid for pid in daemons if alive(pid)], output
        assert f"{daemons[0]} (n2 helper)" in output, output  # said what it killed
    finally:
        stop_runtime(runtime)
        for pid in [int(pid) for pid in pids.read_text().split()] if pids.exists() else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


LOOPBACK_CONFIG = ("cluster badinput { nodes n1 n2 }\n"
                   "group web {\n  vip 127.0.77.5/8\n  app { start \"sleep 60\" }\n"
                   "  monitor process\n  preferred n1\n  possible n2\n}\n")


@pytest.mark.parametrize(("url", "message"), [
    ("etcd://a:b", "Port could not be cast to integer"),
    ("etcd://", "has an empty member"),
    ("etcd://:2379", "expected HOST[:PORT]"),
    ("etcd://h:99999", "Port out of range"),
    ("etcd://[::1", "Invalid IPv6 URL"),
    ("http://h:2379", "unknown store"),
])
def test_a_bad_store_url_is_bad_input(tmp_path: Path, url: str, message: str) -> None:
    config = tmp_path / "one.crg"
    config.write_text(LOOPBACK_CONFIG)
    run_dir = tmp_path / "run"
    result = crg("run", str(config), "--node", "n1", "--store", url, "--run-dir", str(run_dir))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "etcd://HOST:PORT" in result.stderr, "say what a store URL looks like"
    assert not run_dir.exists(), "refused before anything was touched"


@pytest.mark.parametrize(("args", "message"), [
    (("--garp-refresh", "60s"), "it goes with --address linux, not --address loopback"),
    (("--node", "n1", "--store", "etcd://127.0.0.1:9", "--address", "linux",
      "--garp-refresh", "soon"), "--garp-refresh soon: not a duration"),
    (("--node", "n1", "--store", "etcd://127.0.0.1:9", "--address", "linux",
      "--garp-refresh", "100ms"), "must be between 1s and 24h"),
    (("--http", "9100"), "--http: '9100' is not HOST:PORT"),
    (("--http", "127.0.0.1:\u00b2"), "is not HOST:PORT"),  # int() refuses it
    (("--http", "127.0.0.1:\u0663"), "is not HOST:PORT"),  # int() reads it as 3
    (("--http", "127.0.0.1:65534"), "3 nodes need ports 65534 to 65536"),
    (("--store-user", "crg"), "--store-user is for a store shared by several hosts"),
    (("--node", "n1", "--store", "etcd://127.0.0.1:9", "--store-ca", "x.pem"),
     "--store-ca, --store-cert and --store-key are for a TLS store"),
])
def test_operations_flags_are_checked_before_anything_starts(
        tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    config = tmp_path / "one.crg"
    config.write_text(LOOPBACK_CONFIG.replace("nodes n1 n2", "nodes n1 n2 n3"))
    run_dir = tmp_path / "run"
    result = crg("run", str(config), *args, "--run-dir", str(run_dir))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not run_dir.exists(), "refused before anything was touched"


def test_a_password_file_that_is_a_pipe_is_read_once(tmp_path: Path) -> None:
    """``--store-password-file /dev/stdin`` (``pass show etcd | crg run ...``): a pipe
    gives its password once; reading it a second time found it empty, an internal error
    (exit 3). With the password read once the run goes on to the store, which nothing
    answers here: exit 2 naming it."""
    config = tmp_path / "one.crg"
    config.write_text(LOOPBACK_CONFIG)
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"s3cret\n")
        os.close(write_end)
        result = crg("run", str(config), "--node", "n1", "--store", "etcd://127.0.0.1:9",
                     "--store-user", "crg", "--store-password-file", f"/dev/fd/{read_end}",
                     "--address", "null", "--run-dir", str(tmp_path / "run"))
    finally:
        os.close(read_end)
    assert result.returncode == 2, result.stderr
    assert "the file is empty" not in result.stderr and "bug in crg" not in result.stderr
    assert "127.0.0.1:9" in result.stderr and "s3cret" not in result.stderr, result.stderr


def test_the_store_password_is_not_handed_to_the_applications(tmp_path: Path) -> None:
    """$CRG_STORE_PASSWORD (the README's EnvironmentFile= for older systemd) stays with
    crg: the applications, hooks and alert commands it starts inherit its environment,
    and with the password they could log it or write the cluster's store."""
    dump = tmp_path / "env.txt"
    config = tmp_path / "one.crg"
    config.write_text(LOOPBACK_CONFIG.replace("badinput", "pwenv").replace(
        '"sleep 60"', f'"sh -c \'env > {dump}.tmp && mv {dump}.tmp {dump}; exec sleep 60\'"'))
    CLUSTERS.append("pwenv")
    runtime = subprocess.Popen(
        [sys.executable, "-m", "crg", "run", str(config), "--run-dir", str(tmp_path / "run")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "CRG_STORE_PASSWORD": "s3cret-in-env"})
    try:
        wait_until(dump.exists, 40, "the application wrote its environment")
    finally:
        stop_runtime(runtime)
    seen = dump.read_text()
    assert "CRG_MARK=pwenv/n1/web" in seen, seen
    assert "s3cret-in-env" not in seen and "CRG_STORE_PASSWORD" not in seen


@pytest.mark.parametrize(("missing", "args"), [
    ("aetcd", ("--store", "etcd://127.0.0.1:2379")),
    ("pyroute2", ("--store", "etcd://127.0.0.1:2379", "--address", "linux")),
])
def test_without_the_linux_extra_the_hint_says_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str,
        args: tuple[str, ...]) -> None:
    """As if the extra were not installed: importing the package fails."""
    monkeypatch.setitem(sys.modules, missing, None)  # an import of it raises ModuleNotFound
    # Forget crg's modules that import it, also as attributes of their packages (``from
    # package import module`` would find them there and import nothing).
    for name in ("crg.runtime.store.etcd", "crg.runtime.address.linux",
                 "crg.runtime.address.netlink", "crg.runtime.address.garp"):
        monkeypatch.delitem(sys.modules, name, raising=False)
        package, _, module = name.rpartition(".")
        monkeypatch.delattr(importlib.import_module(package), module, raising=False)
    config = tmp_path / "one.crg"
    config.write_text(LOOPBACK_CONFIG)
    run_dir = tmp_path / "run"
    result = crg("run", str(config), "--node", "n1", *args, "--run-dir", str(run_dir))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "bug in crg" not in result.stderr
    assert f"needs the Python package {missing}" in result.stderr
    assert "pip install 'crg[linux]'" in result.stderr
    assert not run_dir.exists()


@pytest.mark.parametrize("flag", ["--events", "--trace"])
def test_an_unwritable_output_file_is_named(tmp_path: Path, flag: str) -> None:
    config = tmp_path / "one.crg"
    config.write_text(LOOPBACK_CONFIG)
    run_dir = tmp_path / "run"
    for path, reason in ((tmp_path / "missing" / "out.jsonl", "No such file or directory"),
                         (tmp_path, "Is a directory")):
        result = crg("run", str(config), flag, str(path), "--run-dir", str(run_dir))
        assert result.returncode == 2, result.stderr
        assert f"{flag} {path}: cannot write this file: {reason}" in result.stderr
        assert "run directory" not in result.stderr and "Traceback" not in result.stderr
        assert not run_dir.exists()


def test_a_vip_the_address_driver_cannot_hold_is_named_where_it_is_written(
        tmp_path: Path) -> None:
    config = tmp_path / "lan.crg"
    config.write_text(LOOPBACK_CONFIG.replace("127.", "10.", 1))
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1)
                if "vip 10." in text)
    run_dir = tmp_path / "run"
    result = crg("run", str(config), "--run-dir", str(run_dir))
    assert result.returncode == 2, result.stderr
    assert f"{config}:{line}:" in result.stderr and "is not a loopback address" in result.stderr
    assert not run_dir.exists()


def test_the_readme_systemd_unit_creates_what_it_writes_to() -> None:
    """The unit runs as User=crg: systemd must create (and hand to that user) every
    directory its command line writes under /run and /var/log."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    unit = readme.split("/etc/systemd/system/crg.service", 1)[1].split("```", 1)[0]
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line
                    and not line.startswith((" ", "#")))
    assert settings["User"] == "crg"
    command = unit.split("ExecStart=", 1)[1].split("\n#", 1)[0]
    for base, setting in (("/run/", "RuntimeDirectory"), ("/var/log/", "LogsDirectory")):
        used = {word.split(base, 1)[1].split("/")[0] for word in command.split()
                if word.startswith(base)}
        assert used, f"the command line writes nothing under {base}"
        assert used <= set(settings.get(setting, "").split()), (setting, used)


def test_run_logging_has_one_handler_and_does_not_repeat_through_root(
        caplog: pytest.LogCaptureFixture) -> None:
    # Started twice in one process (the tests do), `crg run` must not log each line twice,
    # and its lines must not also reach the root logger's handlers.
    from crg.runtime import launch

    launch.setup_logging(verbose=False)
    launch.setup_logging(verbose=True)
    logger = logging.getLogger("crg")
    assert len(logger.handlers) == 1
    assert logger.level == logging.DEBUG
    logging.getLogger("crg.runtime").info("one line")
    assert not [r for r in caplog.records if r.getMessage() == "one line"]
