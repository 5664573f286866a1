"""Stopping asyncio tasks for sure.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives in the same
loop iteration as the awaited result (a monitor check that returns at once is enough),
and the task then goes on running. crg uses ``asyncio.timeout`` instead, and cancels
its own tasks with :func:`cancel_all`, which cancels again until they are done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger("crg.runtime")


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
