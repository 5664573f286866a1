"""Independent pieces of a check (components, shapes) on several cores.

Processes, not threads: the searches are pure Python and would share one interpreter
lock. A task is a module-level function and picklable arguments — a topology, the
options — never a :class:`~crg.spec.Model`, whose rules are compiled with ``exec``: each
worker builds its models itself. Workers are forked, so they see the rules exactly as
the parent process has them (a test that seeds a bug into a rule is checked with that
bug everywhere). Results come back in the order of the tasks, whatever order they finish
in, so a parallel check reports exactly what a serial one does.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from crg.checker import stages

T = TypeVar("T")


def _fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


TICK_S = 1.0
"""How often the parent's ``tick`` runs while it waits for the workers."""


def run_tasks(function: Callable[..., T], tasks: Sequence[tuple[Any, ...]], workers: int,
              done: Callable[[int, T], None] | None = None,
              tick: Callable[[], None] | None = None) -> list[T]:
    """``function(*task)`` for every task, on up to ``workers`` processes; the results in
    the order of ``tasks``. ``done(index, result)`` is called in the parent as each one
    comes back (in the order they finish), ``tick()`` about every second while it waits
    (to show a :class:`Board`'s figures). One worker, or one task, runs here."""
    if workers <= 1 or len(tasks) <= 1 or not _fork_available():
        out = []
        for index, task in enumerate(tasks):
            result = function(*task)
            if done is not None:
                done(index, result)
            out.append(result)
        return out
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                             initializer=_worker_signals) as pool:
        futures: list[Future[T]] = []
        try:
            with _signals_held():  # the first submit forks the workers
                futures.extend(pool.submit(function, *task) for task in tasks)
            for index, result in _as_done(futures, tick):
                if done is not None:
                    done(index, result)
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            _end_workers(pool)
            raise


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """While the workers are forked, Ctrl-C and SIGTERM are only noted, and raised again
    once the forks are done. A handler that raises (crg's, Python's own for SIGINT) would
    raise inside the fork's hooks (logging's ``_releaseLock``), where Python prints
    ``Exception ignored in ...`` with a traceback and carries on: the check went on to its
    end and exited 0, the Ctrl-C lost. A forked worker inherits the noting handler until
    :func:`_worker_signals` replaces it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set, and only run, in the main thread
        return
    held: list[int] = []
    replaced = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler):  # SIG_IGN and SIG_DFL raise nothing
            replaced[sig] = handler
            signal.signal(sig, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in replaced.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


def _worker_signals() -> None:
    """Ctrl-C is the parent's to handle (a terminal sends it to every process of the
    group): a worker ignores it, and dies quietly of the SIGTERM the parent then sends —
    each printed a traceback of its own before (``Process ForkProcess-1: Traceback``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stages.silence()


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the searches under way at once: leaving the pool waits for running tasks to
    finish, which made an interrupted check wait for a whole component's search. (No
    public way before Python 3.14's ``terminate_workers``.)"""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()


def _as_done(futures: list[Future[T]], tick: Callable[[], None] | None = None
             ) -> Iterator[tuple[int, T]]:
    from concurrent.futures import FIRST_COMPLETED, wait

    index = {f: i for i, f in enumerate(futures)}
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=TICK_S if tick is not None else None,
                                 return_when=FIRST_COMPLETED)
        if tick is not None:
            tick()
        for f in sorted(finished, key=index.__getitem__):
            yield index[f], f.result()


_BOARD: Any = None
"""The shared memory of the :class:`Board` in use: a module global, so that the workers
forked while it is in use inherit it (shared memory cannot be pickled into a task)."""


class Board:
    """How far each task run on another process got: each writes its latest figures
    (states, events deep) into memory shared with the parent, which reads them at its
    ticks — a message per report would cost more than the report. Used as a context
    manager around :func:`run_tasks` (the workers are forked inside it)."""

    def __init__(self, tasks: int) -> None:
        self.tasks = tasks
        self.cells: Any = None

    def __enter__(self) -> Board:
        global _BOARD
        context = (multiprocessing.get_context("fork") if _fork_available()
                   else multiprocessing.get_context())
        self.cells = _BOARD = context.RawArray("q", 2 * self.tasks)
        return self

    def __exit__(self, *_: object) -> None:
        global _BOARD
        _BOARD = None

    def slot(self, index: int) -> Slot:
        return Slot(index)

    def settle(self, index: int, states: int, layer: int) -> None:
        """A finished task's exact figures (its last report was some states before)."""
        self.cells[2 * index], self.cells[2 * index + 1] = states, layer

    def read(self) -> tuple[int, int]:
        """States of every task together, and the deepest layer any reached."""
        cells = list(self.cells)
        return sum(cells[0::2]), max(cells[1::2], default=0)


class Slot:
    """A task's progress callback (``progress(states, layer, seconds)``), picklable: it
    writes to the board its process inherited."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __call__(self, states: int, layer: int, seconds: float) -> None:
        cells = _BOARD
        if cells is not None:
            cells[2 * self.index], cells[2 * self.index + 1] = states, layer
