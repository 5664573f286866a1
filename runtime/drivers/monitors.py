"""Health checks of a running application: process, TCP connect, HTTP GET, command.

A :class:`MonitorSet` is what the spec calls the group's monitors on one node. Starting
it waits (within the application's start timeout) until every check has passed once, so
that *service up* means the service answers; afterwards each monitor checks every
``interval`` and reports a fault after ``fails`` failures in a row — once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

import httpx

from crg.dsl.model import Group, Monitor, MonitorKind
from crg.dsl.templates import substitute
from crg.runtime.drivers.process import Instance, Supervisor, command_argv, text_argv
from crg.runtime.tasks import cancel_all

log = logging.getLogger("crg.runtime")

STARTUP_POLL_S = 0.05
"""How often the checks run while the application starts (faster than their interval:
the sooner it answers, the sooner *service up* goes out)."""

Check = tuple[bool, str]

UNWATCHED = ("the start command exited 0 (daemonised?) and the application has no status "
             "command: a process monitor has nothing left to watch; give the application a "
             "status command")
"""Why a daemonised application with a ``process`` monitor is a fault at once: the process
it watched is gone, and only a status command can say whether the daemon runs."""


def unwatched(group: Group) -> str | None:
    """Why ``group``'s application cannot be watched once its start command exited 0 (it
    daemonised): a ``process`` monitor and no status command to judge in its place. None
    when its monitors can judge it."""
    if group.app.status is None and any(m.kind is MonitorKind.PROCESS
                                        for m in group.monitors):
        return UNWATCHED
    return None


def split_host_port(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host.strip("[]"), int(port)


def label(monitor: Monitor, values: Mapping[str, str]) -> str:
    target = substitute(monitor.target, values) if monitor.target else ""
    return f"{monitor.kind.value} {target}".strip()


class MonitorSet:
    def __init__(self, group: Group, values: Mapping[str, str], instance: Instance,
                 supervisor: Supervisor, on_fault: Callable[[str], None]) -> None:
        self.group = group
        self.values = dict(values)
        self.instance = instance
        self.supervisor = supervisor
        self.on_fault = on_fault
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._reported = False

    # -- life ----------------------------------------------------------------------------

    async def start(self) -> Check:
        """Wait until every check passed once, the application ended, or the start
        timeout ran out; then watch. Returns (healthy, why not)."""
        healthy = await self._until_healthy(self.group.app.start.timeout_ms / 1000)
        self.watch_only()
        return healthy

    def watch_only(self) -> None:
        """Start watching without waiting for a first success."""
        self._tasks = [asyncio.create_task(self._watch(m)) for m in self.group.monitors]

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _until_healthy(self, timeout_s: float) -> Check:
        deadline = time.monotonic() + timeout_s
        pending = list(self.group.monitors)
        why = "no check ran"
        while pending:
            if not self.instance.running:
                if self.instance.exit_code != 0:
                    return False, f"the application {self.instance.describe_exit()}"
                # Waiting out the start timeout for a check that can no longer pass would
                # only delay the fault (and the restart) by that long.
                if (why_not := unwatched(self.group)) is not None:
                    return False, why_not
            results = await asyncio.gather(*(self.check(m) for m in pending))
            failing = [(m, r) for m, r in zip(pending, results, strict=True) if not r[0]]
            pending = [m for m, _ in failing]
            if not pending:
                break
            why = f"{label(failing[0][0], self.values)}: {failing[0][1][1]}"
            if time.monotonic() >= deadline:
                return False, f"not healthy within the start timeout ({why})"
            await asyncio.sleep(STARTUP_POLL_S)
        return True, ""

    async def _watch(self, monitor: Monitor) -> None:
        failures = 0
        while True:
            await asyncio.sleep(monitor.interval_ms / 1000)
            ok, why = await self.check(monitor)
            failures = 0 if ok else failures + 1
            if failures >= monitor.fails:
                self.report(f"monitor {label(monitor, self.values)} failed {failures} "
                            f"time{'s' if failures > 1 else ''}: {why}")
                return

    async def recheck(self) -> Check:
        """Every check once, now: (all passed, why the first that failed did not)."""
        results = await asyncio.gather(*(self.check(m) for m in self.group.monitors))
        for monitor, (ok, why) in zip(self.group.monitors, results, strict=True):
            if not ok:
                return False, f"{label(monitor, self.values)}: {why}"
        return True, ""

    async def rearm(self) -> None:
        """Watch again from scratch, ready to report a new failure (after a report that
        turned out to be over: one made during a maintenance, say)."""
        await cancel_all(self._tasks)
        self._reported = False
        self.watch_only()

    def report(self, reason: str) -> None:
        if not self._reported:
            self._reported = True
            self.on_fault(reason)

    # -- checks --------------------------------------------------------------------------

    async def check(self, monitor: Monitor) -> Check:
        timeout = monitor.timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout + 0.5):
                return await self._check(monitor, timeout)
        except TimeoutError:
            return False, f"no answer within {monitor.timeout_ms} ms"
        except Exception as exc:
            # A check that fails in a way nobody foresaw (too many open files...) is a
            # failed check: a monitor that died of it would leave its group unwatched.
            return False, f"{type(exc).__name__}: {exc}"

    async def _check(self, monitor: Monitor, timeout: float) -> Check:
        target = substitute(monitor.target, self.values) if monitor.target else ""
        if monitor.kind is MonitorKind.PROCESS:
            return await self._process(timeout)
        if monitor.kind is MonitorKind.TCP:
            host, port = split_host_port(target)
            try:
                async with asyncio.timeout(timeout):
                    _, writer = await asyncio.open_connection(host, port)
            except (OSError, TimeoutError) as exc:
                return False, _why(exc, timeout)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return True, ""
        if monitor.kind is MonitorKind.HTTP:
            if self._client is None:
                # trust_env=False: a proxy from the environment must not answer for the app.
                # verify=False: the check addresses the VIP by IP, and certificates name
                # hosts; it asks whether the service answers, not whom to trust.
                self._client = httpx.AsyncClient(trust_env=False, verify=False)
            try:
                reply = await self._client.get(target, timeout=timeout)
            except httpx.HTTPError as exc:
                return False, _why(exc, timeout)
            if reply.status_code >= 400:
                return False, f"HTTP {reply.status_code}"
            return True, ""
        argv = text_argv(target, self.values)
        return await self._command(argv, timeout, "exec check")

    async def _process(self, timeout: float) -> Check:
        instance = self.instance
        if instance.running:
            return True, ""
        if instance.exit_code != 0:
            return False, f"the application {instance.describe_exit()}"
        # A start command that daemonised: its status command is the judge.
        status = self.group.app.status
        if status is None:
            # Not "the application exited with status 0": that reads as a crash, and
            # the operator would look for one in the application's log.
            return False, UNWATCHED
        argv = command_argv(status, self.values, self.group.app.shell)
        return await self._command(argv, min(timeout, status.timeout_ms / 1000),
                                   "status command")

    async def _command(self, argv: list[str], timeout: float, what: str) -> Check:
        env = self.supervisor.environment(self.group, self.values,
                                          {"CRG_INSTANCE": self.instance.token,
                                           "CRG_GROUP": self.group.name})
        ran = await self.supervisor.run(argv, env=env, timeout_s=timeout,
                                        log_name=f"{self.group.name}.checks",
                                        cwd=self.group.app.directory)
        return (True, "") if ran.ok else (False, ran.said(what))


def _why(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    return text
