"""A randomized fault soak of the embedded runtime, in the manner of Pacemaker's cluster
test suite: ``crg run`` with real applications (``python3 -m http.server`` on loopback
VIPs) takes random application kills, node crashes and joins, switchovers,
drains/undrains and offline/online for a bounded time, while a sampler fails the run the
moment a VIP or an application has two holders; at the end every operation is undone,
SIGTERM must stop everything (exit 0, nothing left running) and the trace must pass
``crg conform``.

The seed is printed first; ``CRG_SOAK_SEED=N`` replays the same choices (the timing is
the machine's). ``CRG_SOAK_SECONDS`` sets the length. Used by
tests/runtime/test_soak.py (bounded, in the suite) and benchmarks/runtime_soak.py
(longer, with figures).

An operation is one line of :data:`OPERATIONS`: a name, a weight and a function that
picks its arguments from the cluster's current status and acts (or says it cannot now).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from runtime_helpers import Setup, processes_of, quickstart, reap, stop_runtime, wait_until

from crg.dsl import parse
from crg.runtime.conform import check
from crg.runtime.control import ControlError, request
from crg.runtime.rundir import SOCKET

SAMPLE_S = 0.05
"""How often the sampler looks (every holder check also reads the runtime's status)."""
SETTLE_S = 30.0


class DoubleHolder(AssertionError):
    """A VIP or an application had two holders at once."""


@dataclass
class Soak:
    setup: Setup
    rng: random.Random
    seed: int
    runtime: subprocess.Popen[bytes] | None = None
    crashed: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)
    """What was done, when (printed with a failure)."""
    outcomes: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    problem: str | None = None
    started: float = field(default_factory=time.monotonic)

    # -- talking to the runtime ------------------------------------------------------------

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.setup.config.cluster.nodes

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.setup.config.groups)

    def status(self) -> dict[str, Any]:
        answer = request(self.setup.run_dir / SOCKET, {"op": "status"}, timeout_s=15)
        status: dict[str, Any] = answer["status"]
        return status

    def command(self, op: str, *args: str) -> str:
        """Send an operator command; ``done`` or ``refused: why`` (a refusal is an
        answer: a group that did not settle, a node that is down...)."""
        try:
            answer = request(self.setup.run_dir / SOCKET, {"op": op, "args": list(args)},
                             timeout_s=30)
        except ControlError as exc:
            if "did not answer" in str(exc) or "no crg runtime" in str(exc):
                raise  # the runtime hangs or is gone: that is a failure of the soak
            return f"refused: {exc}"
        return str(answer.get("message", "done"))

    def note(self, text: str) -> None:
        self.log.append(f"{time.monotonic() - self.started:7.2f} {text}")

    # -- the sampler ---------------------------------------------------------------------

    def sample(self) -> None:
        """Fail (``problem``) at the first sample where a group's application runs on two
        nodes, or its VIP is held by two (the spec's reading, or two nodes' runtime
        alerts that the address was held elsewhere)."""
        assert self.runtime is not None
        holders: dict[str, set[str]] = {}
        try:
            children = psutil.Process(self.runtime.pid).children()
        except psutil.Error:
            return
        for proc in children:
            try:
                env = proc.environ()
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
            except (psutil.Error, OSError):
                continue
            mark = env.get("CRG_MARK", "")
            if mark.startswith(f"{self.setup.name}/"):
                _, node, group = mark.split("/")
                holders.setdefault(group, set()).add(node)
        for group, nodes in holders.items():
            if len(nodes) > 1:
                self.problem = f"application of {group} runs on {sorted(nodes)} at once"
                return
        try:
            status = self.status()
        except ControlError:
            return  # answered later: the commands notice a runtime that is gone
        for g in status["groups"]:
            if g["vip"] is not None and "," in str(g["vip"]):
                self.problem = f"VIP of {g['group']} held by {g['vip']} at once"
                return
        self.samples += 1

    def sampling(self, stop: threading.Event) -> None:
        while not stop.wait(SAMPLE_S):
            self.sample()
            if self.problem is not None:
                return

    def fail_if_double(self) -> None:
        if self.problem is not None:
            raise DoubleHolder(self.failure(self.problem))

    def failure(self, problem: str) -> str:
        recent = "\n".join(self.log[-30:])
        return (f"{problem}\nseed {self.seed}: replay with CRG_SOAK_SEED={self.seed}\n"
                f"last operations:\n{recent}")


# -- operations ------------------------------------------------------------------------------


def live(soak: Soak, status: dict[str, Any]) -> list[str]:
    return [n for n, s in status["nodes"].items() if s == "up" and n not in soak.crashed]


def kill_app(soak: Soak, rng: random.Random) -> str | None:
    running = [g for g in soak.status()["groups"] if g["pid"]]
    if not running:
        return None
    group = rng.choice(running)
    with contextlib.suppress(ProcessLookupError):
        os.kill(group["pid"], signal.SIGKILL)
    return f"{group['group']} on {group['node']} (pid {group['pid']})"


def crash(soak: Soak, rng: random.Random) -> str | None:
    up = live(soak, soak.status())
    if len(up) < 2:
        return None  # one node stays: a cluster with none is a different test
    node = rng.choice(up)
    answer = soak.command("crash", node)
    if not answer.startswith("refused"):
        soak.crashed.add(node)
    return f"{node}: {answer}"


def join(soak: Soak, rng: random.Random) -> str | None:
    if not soak.crashed:
        return None
    node = rng.choice(sorted(soak.crashed))
    answer = soak.command("join", node)
    if not answer.startswith("refused"):
        soak.crashed.discard(node)
    return f"{node}: {answer}"


def switchover(soak: Soak, rng: random.Random) -> str | None:
    # Mostly as an operator would: to a live candidate the group is neither on nor banned
    # from, as status shows it. Picked blind, most switchovers of a soak that kills
    # applications often are refused (banned, blocked, already there), and a run could
    # end without a single move; one in four stays blind, so refusals are exercised too.
    status = soak.status()
    entry = rng.choice(status["groups"])
    group = soak.setup.config.group(entry["group"])
    targets = list(group.candidates)
    if rng.random() < 0.75:
        banned = {b["node"] for b in entry.get("banned") or []}
        up = set(live(soak, status))
        targets = [n for n in targets
                   if n in up and n not in banned and n != entry.get("node")] or targets
    node = rng.choice(targets)
    return f"{group.name} {node}: {soak.command('switchover', group.name, node)}"


def drain(soak: Soak, rng: random.Random) -> str | None:
    up = live(soak, soak.status())
    if len(up) < 2:
        return None
    node = rng.choice(up)
    return f"{node}: {soak.command('drain', node)}"


def undrain(soak: Soak, rng: random.Random) -> str | None:
    drained = [n for n, s in soak.status()["nodes"].items() if s == "drained"]
    if not drained:
        return None
    node = rng.choice(drained)
    return f"{node}: {soak.command('undrain', node)}"


def group_command(name: str) -> Callable[[Soak, random.Random], str | None]:
    def act(soak: Soak, rng: random.Random) -> str | None:
        group = rng.choice(soak.groups)
        return f"{group}: {soak.command(name, group)}"
    return act


@dataclass(frozen=True)
class Operation:
    name: str
    weight: int
    act: Callable[[Soak, random.Random], str | None]
    """Does it, with arguments picked from the current status; what it did, or None
    when it cannot happen now."""


OPERATIONS: tuple[Operation, ...] = (
    Operation("kill-app", 5, kill_app),
    Operation("crash", 1, crash),
    Operation("join", 3, join),
    Operation("switchover", 4, switchover),
    Operation("drain", 1, drain),
    Operation("undrain", 3, undrain),
    Operation("offline", 1, group_command("offline")),
    Operation("online", 3, group_command("online")),
    Operation("cleanup", 2, group_command("cleanup")),
    Operation("clear", 2, group_command("clear")),
)


# -- a run ---------------------------------------------------------------------------------


@dataclass
class Report:
    seed: int
    seconds: float
    operations: dict[str, int]
    refused: dict[str, int]
    samples: int
    transitions: int
    events: dict[str, int]
    settle_s: float


def config(tmp: Path) -> Setup:
    """The quick-start cluster (three groups, one of them an instance group), with a
    short restart window so that bans end within a soak."""
    setup = quickstart(tmp)
    text = setup.path.read_text().replace("within 1m", "within 20s")
    setup.path.write_text(text)
    setup.config = parse(text, str(setup.path))
    return setup


def settled(status: dict[str, Any]) -> bool:
    return all(g["mode"] != "moving" for g in status["groups"])


def soak(tmp: Path, seconds: float, seed: int | None = None,
         say: Callable[[str], None] = print) -> Report:
    """One soak (see the module); raises AssertionError on any failure."""
    seed = seed if seed is not None else random.randrange(1 << 32)
    say(f"soak seed {seed} ({seconds:g} s): replay with CRG_SOAK_SEED={seed}")
    setup = config(tmp)
    run = Soak(setup, random.Random(seed), seed)
    output = open(tmp / "crg-run.log", "wb")  # noqa: SIM115 (closed below, whatever happens)
    run.runtime = subprocess.Popen(
        [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
         str(setup.run_dir), "--trace", str(setup.trace), "--events", str(setup.events)],
        stdout=output, stderr=subprocess.STDOUT)
    stop = threading.Event()
    sampler = threading.Thread(target=run.sampling, args=(stop,), daemon=True)
    try:
        wait_until(lambda: _answers(run) and all(
            g["app"] == "up" for g in run.status()["groups"]), 60, "every group up")
        sampler.start()
        deadline = time.monotonic() + seconds
        weights = [op.weight for op in OPERATIONS]
        while time.monotonic() < deadline:
            run.fail_if_double()
            op = run.rng.choices(OPERATIONS, weights)[0]
            did = op.act(run, run.rng)
            if did is not None:
                outcome = "refused" if "refused" in did else "done"
                run.outcomes[f"{op.name} {outcome}"] += 1
                run.note(f"{op.name} {did}")
            _pause(run)
        run.fail_if_double()
        settle_s = _restore(run)
        run.fail_if_double()
        stop.set()
        sampler.join(5)
        run.runtime.send_signal(signal.SIGTERM)
        code = run.runtime.wait(timeout=90)
        assert code == 0, run.failure(f"crg run exited {code} on SIGTERM")
    except DoubleHolder:
        stop.set()
        stop_runtime(run.runtime)
        reap()  # a soak that failed half-way leaves nothing running either
        raise
    except Exception as exc:  # whatever it was: with the seed, the last steps, the log
        stop.set()
        stop_runtime(run.runtime)
        reap()
        output.flush()
        tail = "".join((tmp / "crg-run.log").read_text(errors="replace")
                       .splitlines(True)[-40:])
        raise AssertionError(run.failure(f"{type(exc).__name__}: {exc}") +
                             f"\nthe end of {tmp}/crg-run.log:\n{tail}") from exc
    except BaseException:  # interrupted: clean up all the same
        stop.set()
        stop_runtime(run.runtime)
        reap()
        raise
    finally:
        stop.set()
        stop_runtime(run.runtime)
        output.close()
    try:
        wait_until(lambda: not processes_of(setup.name), 10, "nothing left running")
    except AssertionError as exc:
        reap()
        raise AssertionError(run.failure(str(exc))) from None
    return _verdict(run, tmp, settle_s)


def _answers(run: Soak) -> bool:
    try:
        run.status()
    except ControlError:
        return False
    return True


def _pause(run: Soak) -> None:
    """Between operations: a short random pause, or (one time in four) until the
    cluster settles — both the middle of a move and a settled state get hit."""
    if run.rng.random() < 0.25:
        with contextlib.suppress(AssertionError):
            wait_until(lambda: settled(run.status()) or run.problem is not None, SETTLE_S,
                       "settled")
    else:
        time.sleep(run.rng.uniform(0.05, 1.0))


def _restore(run: Soak) -> float:
    """Undo what the operations left (crashed, drained, offline), then wait until every
    group runs again; how long that took."""
    started = time.monotonic()
    for node in sorted(run.crashed):
        run.note(f"restore join {node}: {run.command('join', node)}")
    run.crashed.clear()
    status = run.status()
    for node, state in status["nodes"].items():
        if state == "drained":
            run.note(f"restore undrain {node}: {run.command('undrain', node)}")
    for g in status["groups"]:
        if g["mode"] == "offline" or g["app"] != "up":
            run.note(f"restore online {g['group']}: {run.command('online', g['group'])}")

    def all_up() -> bool:
        now = run.status()
        return settled(now) and all(g["app"] == "up" or g["mode"] == "offline"
                                    for g in now["groups"])

    try:
        wait_until(all_up, 90, "every group runs again after the soak")
    except AssertionError as exc:
        raise AssertionError(run.failure(str(exc))) from None
    return time.monotonic() - started


def _verdict(run: Soak, tmp: Path, settle_s: float) -> Report:
    setup = run.setup
    log = (tmp / "crg-run.log").read_text(errors="replace")
    for bad in ("Traceback", "changed outside any recorded transition",
                "refusing to add it"):
        assert bad not in log, run.failure(f"crg run logged {bad!r}; see {tmp}/crg-run.log")
    with open(setup.trace, encoding="utf-8") as handle:
        result = check(setup.config, handle)
    assert result.conforms, run.failure(f"the trace does not conform: {result.problem}")
    events = Counter(json.loads(line)["event"] for line in
                     setup.events.read_text().splitlines())
    operations = {k.removesuffix(" done"): v for k, v in run.outcomes.items()
                  if k.endswith(" done")}
    refused = {k.removesuffix(" refused"): v for k, v in run.outcomes.items()
               if k.endswith(" refused")}
    assert run.samples > 0, "the sampler looked"
    return Report(run.seed, round(time.monotonic() - run.started, 1), operations, refused,
                  run.samples, result.steps, dict(events), round(settle_s, 1))


def seed_from_environment() -> int | None:
    """``CRG_SOAK_SEED`` (a replay), or None for a new seed. Anything but digits is a
    mistake to be told, not a reason to soak with another seed than the one asked for."""
    text = os.environ.get("CRG_SOAK_SEED", "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"CRG_SOAK_SEED={text!r}: expected the seed a soak printed "
                         "(digits only)")
    return int(text)
