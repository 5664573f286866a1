"""The process supervisor of one node: starts applications, stops them, kills leftovers.

Every process crg starts (applications, stop and status commands, exec monitors, hooks)
gets its own session, hence its own process group, so that stopping it reaches its
children too, and carries environment variables that say whose it is: ``CRG_RUN_DIR``
(the runtime's run directory: which runtime), ``CRG_RUN_NODE`` (the node whose agent
started it: what that node's crash kills), ``CRG_MARK`` (cluster/node/group) and
``CRG_INSTANCE`` (one start). A process that escaped its group (a daemon that called
``setsid``) still carries them, which is how the watchdog finds strays with psutil, and
how a runtime restarted on the same run directory finds its predecessor's orphans.

Nothing runs through a shell unless the application says ``shell``. Output goes to one
log file per group and node under the run directory, never through a pipe we would have
to drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shlex
import signal
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from crg.dsl.model import Command, Group
from crg.dsl.templates import substitute
from crg.runtime.drivers.logfiles import LogFiles
from crg.runtime.health import Board

KILL_GRACE_S = 2.0
"""How long a SIGKILLed process group may take to vanish before we give up on it."""
POLL_S = 0.02


def _signal_name(number: int) -> str:
    """``SIGTERM`` for 15; ``signal 99`` for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(eq=False)
class Instance:
    """One start of a group's application on one node."""

    group: str
    token: str
    argv: tuple[str, ...]
    started: float = field(default_factory=time.monotonic)
    process: asyncio.subprocess.Process | None = None
    exit_code: int | None = None
    """The main process's exit status once it ended (negative: killed by that signal)."""
    spawn_error: str | None = None
    log: Path | None = None
    """Where its output goes (``RUN_DIR/logs/NODE/GROUP.log``), once opened."""
    stopping: bool = False
    """A stop was asked for: its end is not a failure."""
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pgid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.exit_code is None

    def describe_exit(self, with_log: bool = True) -> str:
        """How it ended, for a fault's reason: with where its output is (the reason it
        ended is usually there), unless ``with_log`` is false (the log's own line)."""
        if self.spawn_error is not None:
            return f"could not be started: {self.spawn_error}"
        code = self.exit_code
        if code is None:
            return "is running"
        ended = _ended(code)
        if with_log and self.log is not None:
            ended += f"; its output is in {self.log}"
        return ended


@dataclass(frozen=True, slots=True)
class StopReport:
    graceful: bool
    """It ended within the stop timeout (the configured stop, or SIGTERM after it)."""
    killed: bool
    """It had to be SIGKILLed."""
    survivors: tuple[int, ...] = ()
    """PIDs still there after SIGKILL (unkillable: stuck in the kernel)."""


@dataclass(frozen=True, slots=True)
class KillReport:
    groups: tuple[int, ...]
    """The process groups killed, each once."""
    unsearched: str | None = None
    """Why processes that escaped their group could not be looked for (None: they were,
    and any found were killed)."""


def signal_of(name: str) -> signal.Signals:
    return signal.Signals[f"SIG{name.upper().removeprefix('SIG')}"]


def command_argv(command: Command, values: Mapping[str, str], shell: bool) -> list[str]:
    """The argv of a configured command with placeholders filled in, one argument at a
    time (a value with spaces never splits an argument)."""
    if shell:
        quoted = {k: shlex.quote(v) for k, v in values.items()}
        return ["/bin/sh", "-c", substitute(command.text, quoted)]
    return [substitute(arg, values) for arg in command.argv]


def text_argv(text: str, values: Mapping[str, str]) -> list[str]:
    """A command given as text (exec monitors, command sinks): split like a shell would,
    then each argument substituted."""
    return [substitute(arg, values) for arg in shlex.split(text)]


def group_alive(pgid: int) -> bool:
    """Does any process (zombies aside) remain in process group ``pgid``?"""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(True for _ in members(pgid))


def members(pgid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


async def wait_gone(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


STOP_COMMAND = "command"


def stop_plan(has_command: bool, stop_signal: signal.Signals, timeout_s: float
              ) -> list[tuple[signal.Signals | str, float]]:
    """The graceful steps of a stop, in order, each with its share of the stop timeout:
    the configured stop (the command, else the signal), then the configured signal if a
    command came first, then SIGTERM if that was not it; SIGKILL follows once the
    timeout is spent. The configured stop gets half the timeout when something follows
    it (the whole of it when not), the later steps share the other half: an application
    that handles its own stop is given the most time, and each fallback still gets a
    fair chance before the kill."""
    steps: list[signal.Signals | str] = [STOP_COMMAND] if has_command else []
    steps.append(stop_signal)
    if stop_signal != signal.SIGTERM:
        steps.append(signal.SIGTERM)
    if len(steps) == 1:
        return [(steps[0], timeout_s)]
    later = timeout_s / 2 / (len(steps) - 1)
    return [(steps[0], timeout_s / 2)] + [(step, later) for step in steps[1:]]


@dataclass(frozen=True, slots=True)
class Ran:
    """How a short command (a check, a stop command, a hook) ended."""

    code: int | None
    """Its exit status (negative: the signal that killed it); None when it could not
    start or ran out of time."""
    problem: str = ""
    """Why there is no status: ``could not start: Permission denied``, ``did not finish
    within 10 s``."""

    @property
    def ok(self) -> bool:
        return self.code == 0

    def said(self, what: str) -> str:
        """``what exited with status 3``, ``what could not start: ...``..."""
        return f"{what} {self.problem if self.code is None else _ended(self.code)}"


def _ended(code: int) -> str:
    """``exited with status 3``, ``was killed by SIGKILL``: how a process ended, by its
    status (negative: the signal)."""
    return f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with status {code}"


def spawn_problem(exc: OSError, argv: Sequence[str], cwd: str | None) -> str:
    """Why a command could not be executed, naming what was missing or refused: the
    program, or the working directory (``No such file or directory`` alone names
    neither)."""
    reason = exc.strerror or str(exc)
    if cwd is not None and exc.filename is not None and str(exc.filename) == cwd:
        return f"its directory {cwd}: {reason}"
    return f"{argv[0] if argv else 'the command'}: {reason}"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


RUN_DIR_VARIABLE = "CRG_RUN_DIR"
"""Every process a runtime starts carries its run directory here, next to ``CRG_MARK``:
two runtimes of clusters with the same name (on other run directories) must never take
each other's processes for their own strays, while a runtime restarted on the same run
directory must recognise its predecessor's orphans."""


NODE_VARIABLE = "CRG_RUN_NODE"
"""Every process a runtime starts carries the node whose agent started it here, next to
``CRG_RUN_DIR``: the nodes of an embedded runtime share its run directory, and a crash of
one kills what that node started, never what another did. Not ``CRG_NODE``, which a
command is told, and which an alert sets to the node the alert is about: n1 paging n2's
loss runs its sink with ``CRG_NODE=n2``."""


def run_dir_mark(run_dir: Path) -> str:
    """The value of ``CRG_RUN_DIR`` for a run directory: absolute and without symbolic
    links, so that a restart from another working directory gives the same mark."""
    return str(run_dir.resolve())


class ProcessTableUnreadable(OSError):
    """The process table could not be read for want of a resource (descriptors, memory):
    a look for strays that skipped what it could not read would report none where there
    may be some, so it fails instead and whoever asked tries again later."""


SHORTAGES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EAGAIN})
"""Errors of this host, not of one process: reading every other process fails alike."""


def marked() -> list[tuple[psutil.Process, dict[str, str]]]:
    """Every live process carrying a run directory mark, with its environment. A process
    that ends, or whose environment is not ours to read, is skipped; a shortage of
    descriptors or memory raises :class:`ProcessTableUnreadable`."""
    found = []
    try:
        for proc in psutil.process_iter():
            try:
                env = proc.environ()
                if RUN_DIR_VARIABLE in env and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append((proc, env))
            except psutil.Error:
                continue
            except OSError as exc:
                if exc.errno in SHORTAGES:
                    raise
                continue
    except OSError as exc:
        raise ProcessTableUnreadable(exc.errno, "cannot read the process table: "
                                     f"{exc.strerror or exc}", "/proc") from None
    return found


def sweep_run_dir(run_dir: Path) -> list[tuple[int, str]]:
    """SIGKILL every process left by an earlier runtime on ``run_dir`` (called before any
    group starts, with the run directory locked: nothing of it can be alive and wanted)
    and wait, bounded, until they are gone (their ports free). Returns (pid, mark) of
    each."""
    mark = run_dir_mark(run_dir)
    swept = []
    for proc, env in marked():
        if env.get(RUN_DIR_VARIABLE) == mark and proc.pid != os.getpid():
            with contextlib.suppress(psutil.Error):
                proc.kill()
                swept.append((proc, env.get("CRG_MARK")
                              or f"{env.get(NODE_VARIABLE, '?')} helper"))
    psutil.wait_procs([p for p, _ in swept], timeout=KILL_GRACE_S)
    return [(p.pid, m) for p, m in swept]


class Supervisor:
    def __init__(self, cluster: str, node: str, log_dir: Path,
                 on_exit: Callable[[Instance], None] | None = None, *,
                 run_dir: Path | None = None, board: Board | None = None) -> None:
        """``run_dir``: the runtime's run directory (default: ``log_dir``), which marks
        every process started here as this runtime's (see :func:`run_dir_mark`), and
        below which no link is followed to a log; ``board``: where a log that cannot be
        opened is reported."""
        self.cluster = cluster
        self.node = node
        self.logs = LogFiles(log_dir, run_dir if run_dir is not None else log_dir, board)
        self.run_dir = run_dir_mark(run_dir if run_dir is not None else log_dir)
        self.on_exit = on_exit
        self.instances: dict[str, Instance] = {}
        """The current instance of each group on this node."""
        self.stopping: dict[str, Instance] = {}
        """The instance of each group whose stop is under way: no longer current, but
        still running until it ends (crg status shows it, and its pid)."""
        self._helpers: set[int] = set()
        """Process groups of short commands (stop, status, exec checks, hooks)."""
        self._watchers: set[asyncio.Task[None]] = set()

    def mark(self, group: str) -> str:
        return f"{self.cluster}/{self.node}/{group}"

    def ours(self, env: Mapping[str, str]) -> bool:
        """Was a process with this environment started by this runtime instance (or an
        earlier one on the same run directory)? Another runtime of a cluster with the same
        name, on another run directory, is never touched."""
        return env.get(RUN_DIR_VARIABLE) == self.run_dir

    def environment(self, group: Group | None, values: Mapping[str, str],
                    extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if group is not None:
            env.update({k: substitute(v, values) for k, v in group.app.env})
            env["CRG_MARK"] = self.mark(group.name)
        env.update({"CRG_CLUSTER": self.cluster, "CRG_NODE": self.node})
        env.update(extra or {})
        # Last, so that no extra variable changes them: what finds the process again
        # (an alert about another node sets CRG_NODE to that node).
        env[RUN_DIR_VARIABLE] = self.run_dir
        env[NODE_VARIABLE] = self.node
        return env

    def _not_started(self, instance: Instance, why: str) -> Instance:
        instance.spawn_error = why
        instance.exit_code = 127
        instance.done.set()
        self._ended(instance)
        return instance

    # -- applications ----------------------------------------------------------------

    async def start(self, group: Group, values: Mapping[str, str]) -> Instance:
        """Start the application; a command that cannot be executed gives an instance
        that has already ended (the caller treats it as a failed application)."""
        token = uuid.uuid4().hex[:12]
        argv = tuple(command_argv(group.app.start, values, group.app.shell))
        instance = Instance(group.name, token, argv)
        self.instances[group.name] = instance
        env = self.environment(group, values, {"CRG_INSTANCE": token,
                                               "CRG_GROUP": group.name,
                                               "CRG_VIP": values.get("vip", "")})
        # Without its log the application runs all the same, its output discarded: the
        # log's failure is reported as an output's (LogFiles), not paid for by the service.
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        out = self.logs.writable(group.name, f"=== {stamp} start {token}: {shlex.join(argv)}")
        try:
            instance.process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL,
                stdout=out if out is not None else asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.STDOUT, env=env, cwd=group.app.directory,
                start_new_session=True)
        except OSError as exc:
            why = spawn_problem(exc, argv, group.app.directory)
            self.logs.note(group.name, out, f"=== cannot start: {why}")
            return self._not_started(instance, why)
        finally:
            if out is not None:
                os.close(out)
        instance.log = self.logs.path(group.name).absolute() if out is not None else None
        watcher = asyncio.create_task(self._watch(instance))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return instance

    async def _watch(self, instance: Instance) -> None:
        assert instance.process is not None
        code = await instance.process.wait()
        instance.exit_code = code
        instance.done.set()
        self.logs.note_to(instance.group, f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} "
                          f"{instance.token} {instance.describe_exit(with_log=False)}")
        self._ended(instance)

    def _ended(self, instance: Instance) -> None:
        if self.on_exit is not None and not instance.stopping:
            self.on_exit(instance)

    async def stop(self, group: Group, instance: Instance, values: Mapping[str, str]) -> StopReport:
        """The configured stop, then SIGTERM, then SIGKILL once the stop timeout is spent
        (see :func:`stop_plan`); bounded."""
        instance.stopping = True
        if self.instances.get(group.name) is instance:
            del self.instances[group.name]
        if instance.pgid is None:
            return StopReport(graceful=True, killed=False)
        self.stopping[group.name] = instance
        try:
            return await self._stop(group, instance, values)
        finally:
            if self.stopping.get(group.name) is instance:
                del self.stopping[group.name]

    async def _stop(self, group: Group, instance: Instance,
                    values: Mapping[str, str]) -> StopReport:
        pgid = instance.pgid
        assert pgid is not None
        stop = group.app.stop
        for step, budget_s in stop_plan(stop.command is not None, signal_of(stop.signal),
                                        stop.timeout_ms / 1000):
            deadline = time.monotonic() + budget_s
            if isinstance(step, signal.Signals):
                if not group_alive(pgid):
                    break
                _signal_group(pgid, step)
            elif group_alive(pgid) or instance.exit_code == 0:
                # The stop command also stops an application whose start command exited
                # 0 (it daemonised): its process group is empty, the daemon runs on.
                assert stop.command is not None
                argv = command_argv(stop.command, values, group.app.shell)
                env = self.environment(group, values, {"CRG_INSTANCE": instance.token,
                                                       "CRG_GROUP": group.name})
                ran = await self.run(argv, env=env, timeout_s=budget_s,
                                     log_name=group.name, cwd=group.app.directory)
                if not ran.ok and (ran.code is not None or time.monotonic() >= deadline):
                    # Said where the application's output is: else a stop command that
                    # always fails goes unseen, the signals that follow doing its work.
                    # (One that could not be run at all: run() noted why.)
                    failed = ran.said(f"{instance.token} stop command {shlex.join(argv)}")
                    killed = ": killed" if ran.code is None else ""
                    self.logs.note_to(group.name, f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} "
                                      f"{failed}{killed}; the stop goes on with its next step")
            if await wait_gone(pgid, max(0.0, deadline - time.monotonic())):
                break
        if not group_alive(pgid):
            await self.reaped(instance)
            return StopReport(graceful=True, killed=False)
        _signal_group(pgid, signal.SIGKILL)
        gone = await wait_gone(pgid, KILL_GRACE_S)
        await self.reaped(instance)
        survivors = () if gone else tuple(p.pid for p in members(pgid))
        return StopReport(graceful=False, killed=True, survivors=survivors)

    async def reaped(self, instance: Instance) -> None:
        """Until ``instance``'s process has exited and been reaped (at most KILL_GRACE_S)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(KILL_GRACE_S):
                await instance.done.wait()

    def kill(self, instance: Instance) -> None:
        """SIGKILL an instance's process group at once (watchdog, crash)."""
        instance.stopping = True
        if self.instances.get(instance.group) is instance:
            del self.instances[instance.group]
        if instance.pgid is not None:
            _signal_group(instance.pgid, signal.SIGKILL)

    # -- short commands ----------------------------------------------------------------

    async def run(self, argv: Sequence[str], *, env: Mapping[str, str], timeout_s: float,
                  log_name: str, cwd: str | None = None) -> Ran:
        """Run a short command in its own process group, output to a log: how it ended
        (its group killed when it ran out of time)."""
        # None: the command runs, its output discarded (see LogFiles.writable).
        out = self.logs.writable(log_name)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL,
                stdout=out if out is not None else asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.STDOUT, env=dict(env), cwd=cwd,
                start_new_session=True)
        except OSError as exc:
            why = spawn_problem(exc, argv, cwd)
            self.logs.note(log_name, out, f"=== cannot run {shlex.join(argv)}: {why}")
            # said after the command's name: "x.sh could not start: Permission denied"
            return Ran(None, f"could not start: {why.removeprefix(f'{argv[0]}: ')}")
        finally:
            if out is not None:
                os.close(out)
        self._helpers.add(proc.pid)
        try:
            async with asyncio.timeout(timeout_s):
                return Ran(await proc.wait())
        except TimeoutError:
            _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(KILL_GRACE_S):
                    await proc.wait()
            return Ran(None, f"did not finish within {timeout_s:g} s")
        finally:
            if proc.returncode is None:  # cancelled (a crash): take it down too
                _signal_group(proc.pid, signal.SIGKILL)
            self._helpers.discard(proc.pid)

    # -- leftovers ---------------------------------------------------------------------

    def strays(self, group: str, keep: Instance | None = None) -> list[psutil.Process]:
        """Processes of ``group`` started on this node by this runtime (or a predecessor
        on its run directory) that are not part of ``keep``. Raises
        :class:`ProcessTableUnreadable` rather than answer "none" without looking."""
        mark = self.mark(group)
        keep_token = keep.token if keep is not None else None
        return [proc for proc, env in marked()
                if env.get("CRG_MARK") == mark and self.ours(env)
                and env.get("CRG_INSTANCE") != keep_token]

    def kill_strays(self, group: str, keep: Instance | None = None) -> list[int]:
        killed = []
        for proc in self.strays(group, keep):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed.append(proc.pid)
        return killed

    def kill_all(self) -> KillReport:
        """A crash: SIGKILL everything this node started, at once: an application's
        process group, a helper's, and the group of a process that escaped them. Never
        raises: a process table it cannot read is in the report, for the caller to alert
        (what it started itself is killed all the same)."""
        killed: set[int] = set()
        for instance in list(self.instances.values()):
            if instance.pgid is not None:
                killed.add(instance.pgid)
            self.kill(instance)
        for pgid in list(self._helpers):
            _signal_group(pgid, signal.SIGKILL)
            killed.add(pgid)
        try:
            leftovers = marked()
        except ProcessTableUnreadable as exc:
            return KillReport(tuple(sorted(killed)), exc.strerror or str(exc))
        for proc, env in leftovers:
            if env.get(NODE_VARIABLE) != self.node or not self.ours(env):
                continue
            with contextlib.suppress(psutil.Error, OSError):
                pgid = os.getpgid(proc.pid)  # before the kill: a dead process has none
                proc.kill()
                killed.add(pgid)  # a member of a group killed above counts once
        return KillReport(tuple(sorted(killed)))
