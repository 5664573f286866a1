"""Stopping asyncio tasks for sure.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives in the same
loop iteration as the awaited result (a monitor check that returns at once is enough),
and the task then goes on running. crg uses ``asyncio.timeout`` instead, and cancels
its own tasks with :func:`cancel_all`, which cancels again until they are done; for the
same reason, work raced against a condition is given up through :func:`unless`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

log = logging.getLogger("crg.runtime")

T = TypeVar("T")


async def cancel_all(tasks: Iterable[asyncio.Task[object]] | Iterable[asyncio.Task[None]],
                     rounds: int = 50, pause_s: float = 0.1) -> None:
    pending = set(tasks)
    for _ in range(rounds):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=pause_s)
    for task in pending:  # pragma: no cover - a task that ignores cancellation: a bug
        log.error("task %s ignores cancellation", task.get_name())


class Overtaken(Exception):
    """The work was given up, for the reason in the message (see :func:`unless`)."""


async def unless(work: Coroutine[Any, Any, T], overtaken: Coroutine[Any, Any, str]) -> T:
    """``work``'s result, unless ``overtaken`` returns first: then ``work`` is cancelled
    and waited for (what it cleans up when cancelled is clean when this returns), and
    :class:`Overtaken` is raised with ``overtaken``'s answer. Work that ends first wins,
    also a tie: what it did happened and must be accounted for. A watch that breaks (a
    bug) is logged and stops watching; the work goes on."""
    doing = asyncio.create_task(work)
    watching = asyncio.create_task(overtaken)
    try:
        await asyncio.wait({doing, watching}, return_when=asyncio.FIRST_COMPLETED)
        if not doing.done() and watching.exception() is not None:
            log.error("a watch failed; the work goes on unwatched",
                      exc_info=watching.exception())
            await asyncio.wait({doing})
    finally:
        # Also when this task is cancelled itself (the agent stops): neither outlives it.
        await cancel_all([task for task in (doing, watching) if not task.done()])
    if not doing.cancelled():
        return doing.result()
    raise Overtaken(watching.result())
