"""Racing work against a condition (runtime/tasks.py, ``unless``): the work's result when
it ends first, else the work cancelled — and its clean-up done — before ``Overtaken``."""

from __future__ import annotations

import asyncio
import logging

import pytest
from runtime_helpers import run

from crg.runtime.tasks import Overtaken, unless


async def _after(event: asyncio.Event, answer: str) -> str:
    await event.wait()
    return answer


def test_work_that_ends_first_gives_its_result_and_ends_the_watch() -> None:
    async def body() -> None:
        watched: list[str] = []

        async def watch() -> str:
            try:
                await asyncio.Event().wait()
            finally:
                watched.append("ended")
            return "unused"

        assert await unless(asyncio.sleep(0.01, "done"), watch()) == "done"
        assert watched == ["ended"], "the watch outlived the work"

    run(body(), 10)


def test_overtaken_work_is_cancelled_and_cleaned_up_first() -> None:
    async def body() -> None:
        cleaned = asyncio.Event()
        go = asyncio.Event()

        async def work() -> str:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                await asyncio.sleep(0.01)  # a clean-up that takes a moment
                cleaned.set()
                raise
            return "never"

        asyncio.get_running_loop().call_soon(go.set)
        with pytest.raises(Overtaken, match="no longer wanted"):
            await unless(work(), _after(go, "no longer wanted"))
        assert cleaned.is_set(), "Overtaken came before the work had cleaned up"

    run(body(), 10)


def test_a_watch_that_breaks_lets_the_work_go_on(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        async def broken() -> str:
            raise RuntimeError("a bug in the watch")

        async def work() -> str:
            await asyncio.sleep(0.05)
            return "done"

        with caplog.at_level(logging.ERROR, logger="crg.runtime"):
            assert await unless(work(), broken()) == "done"
        assert "a watch failed; the work goes on unwatched" in caplog.text

    run(body(), 10)


def test_cancelling_the_caller_cancels_both() -> None:
    async def body() -> None:
        began = asyncio.Event()
        ended: list[str] = []

        async def forever(name: str) -> str:
            began.set()
            try:
                await asyncio.Event().wait()
            finally:
                ended.append(name)
            return name

        caller = asyncio.ensure_future(unless(forever("work"), forever("watch")))
        await began.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert sorted(ended) == ["watch", "work"]

    run(body(), 10)
