"""Running Python code inside a network namespace without a new process."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(ns: str) -> None:
    """Move the calling thread into namespace ``ns`` (for a thread of its own, e.g. a
    client that keeps sending requests; the rest of the process stays where it is)."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def in_netns(ns: str, fn: Callable[[], T], timeout_s: float = 30.0) -> T:
    """Run ``fn`` in a fresh thread that entered namespace ``ns`` (setns changes only the
    calling thread's namespace; threads it starts inherit it)."""
    box: dict[str, object] = {}

    def body() -> None:
        try:
            enter_netns(ns)
            box["result"] = fn()
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    thread = threading.Thread(target=body, name=f"in-{ns}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"{fn!r} in {ns} did not finish in {timeout_s}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]
