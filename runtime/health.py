"""The health of the runtime's own outputs: the events file, the trace, the log, standard
output, the logs in the run directory.

None of them may stop the cluster service: a write that fails or hangs is the writer's
problem (:mod:`crg.runtime.linefile` writes from a thread of its own, retries with
backoff, and keeps what it could not write, bounded), never the control loop's. What an
operator needs is to *know*: every output has a :class:`SinkHealth` on one
:class:`Board`, which ``crg status`` shows, and which tells the operator through the
other outputs — once when an output starts failing, once when it works again (an
*episode*), never once per failed write.

The board's thread delivers those reports (to the log, the events, journald: see
``reporters``) and notices writes that hang (a stalled disk or a full pipe): a write
that has not finished after :data:`STALL_S` counts as a failure too.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("crg.runtime")

STALL_S = 5.0
"""A write that has not finished after this long counts as failing (a stalled disk)."""
TICK_S = 0.5
"""How often the board looks for stalled writes."""


@dataclass
class SinkHealth:
    """One output of the runtime. Its writer says :meth:`failed` and :meth:`worked`;
    both are cheap and never raise, from any thread."""

    name: str
    """What it is: ``events``, ``trace``, ``log``, ``stdout``, ``run-dir``."""
    target: str
    """Where it goes (a path, ``standard error``...)."""
    board: Board
    failing_since: float | None = None
    """Wall-clock time the current failure began (None: working)."""
    reason: str = ""
    pending: int = 0
    """Lines kept to be written once it works again."""
    dropped: int = 0
    """Lines given up on (the pending bound was reached), in all."""
    episodes: int = 0
    """How many times it started failing."""
    busy_since: float | None = None
    """Monotonic time a write began that has not finished yet."""
    dropped_at_failure: int = field(default=0, repr=False)

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def failed(self, reason: str) -> None:
        self.board.failed(self, reason)

    def worked(self) -> None:
        self.board.worked(self)

    def as_dict(self) -> dict[str, Any]:
        return {"sink": self.name, "target": self.target,
                "state": "failing" if self.failing else "ok",
                "since": self.failing_since, "reason": self.reason or None,
                "pending": self.pending, "dropped": self.dropped}


@dataclass(frozen=True)
class Report:
    """A change of one output's health, for the other outputs to tell."""

    sink: str
    target: str
    failing: bool
    reason: str
    """Why it fails (failing), or how long it failed (recovered)."""
    dropped: int
    """Lines lost in this episode (recovered), so far (failing)."""
    pending: int

    def text(self) -> str:
        if self.failing:
            return (f"the {self.sink} output ({self.target}) fails: {self.reason}; the "
                    "cluster service goes on, and it is retried")
        lost = f"; {self.dropped} line(s) were lost" if self.dropped else ""
        return f"the {self.sink} output ({self.target}) works again after {self.reason}{lost}"

    def as_event(self) -> dict[str, Any]:
        return {"event": "sink-failing" if self.failing else "sink-recovered",
                "sink": self.sink, "target": self.target,
                ("reason" if self.failing else "after"): self.reason,
                "dropped": self.dropped, "pending": self.pending}


Reporter = Callable[[Report], None]


class Board:
    """Every output of one runtime, and who hears when one fails or recovers."""

    def __init__(self) -> None:
        self._sinks: dict[tuple[str, str], SinkHealth] = {}
        self._lock = threading.Lock()
        self.reporters: list[Reporter] = []
        """Called (in the board's thread) with every :class:`Report`; each tells it
        through an output of its own, unless that is the one the report is about."""
        self._reports: queue.SimpleQueue[Report | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.delivered: list[Report] = []
        """Every report delivered, in order (for ``crg status`` and the tests; bounded)."""

    def sink(self, name: str, target: str) -> SinkHealth:
        """The health of output ``name`` writing to ``target`` (made on first use)."""
        with self._lock:
            health = self._sinks.get((name, target))
            if health is None:
                health = self._sinks[(name, target)] = SinkHealth(name, target, self)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="crg-sinks",
                                                 daemon=True)
                self._thread.start()
            return health

    def failed(self, health: SinkHealth, reason: str) -> None:
        with self._lock:
            health.reason = reason
            if health.failing_since is not None:
                return  # the same episode: already told
            health.failing_since = time.time()
            health.episodes += 1
            health.dropped_at_failure = health.dropped
            report = Report(health.name, health.target, True, reason, 0, health.pending)
        self._reports.put(report)

    def worked(self, health: SinkHealth) -> None:
        if health.failing_since is None:
            return  # the common case, without the lock
        with self._lock:
            since = health.failing_since
            if since is None:
                return
            health.failing_since = None
            health.reason = ""
            lasted = f"{time.time() - since:.1f} s"
            report = Report(health.name, health.target, False, lasted,
                            health.dropped - health.dropped_at_failure, health.pending)
        self._reports.put(report)

    def status(self) -> list[dict[str, Any]]:
        """Every output, for ``crg status``."""
        self.check_stalls()
        with self._lock:
            return [h.as_dict() for h in self._sinks.values()]

    def failing(self) -> list[SinkHealth]:
        with self._lock:
            return [h for h in self._sinks.values() if h.failing]

    def check_stalls(self) -> None:
        now = time.monotonic()
        with self._lock:
            stalled = [h for h in self._sinks.values()
                       if h.busy_since is not None and now - h.busy_since > STALL_S]
        for health in stalled:
            busy = health.busy_since
            if busy is not None:
                self.failed(health, f"a write has not finished for {now - busy:.0f} s "
                                    "(a slow or stalled disk, or a reader that stopped)")

    def close(self, timeout_s: float = 1.0) -> None:
        """Deliver what is queued (bounded) and stop the board's thread."""
        thread = self._thread
        if thread is None:
            return
        self._reports.put(None)
        thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            try:
                report = self._reports.get(timeout=TICK_S)
            except queue.Empty:
                self.check_stalls()
                continue
            if report is None:
                return
            self.delivered.append(report)
            del self.delivered[:-100]
            for reporter in list(self.reporters):
                # A reporter writes to an output that may be failing too: it must not
                # keep the others from hearing.
                with contextlib.suppress(Exception):
                    reporter(report)
