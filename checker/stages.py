"""What a long check is doing now, in words, for ``crg check``'s progress line.

The explicit search reports its states as it goes (:data:`crg.checker.options.Progress`);
z3's work — the inductive proof of a component, its ranking function, an unrolling of
owner changes — reports nothing of its own, and a minute of it showed only a spinner and
the time. The engines say each stage here as they begin it, and the process that shows
progress listens (:func:`listening`). A forked worker of a parallel check says nothing
(:func:`silence`): its parent says the components as they come back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

Stage = Callable[[str], None]
"""``stage(what)``: the check is now doing ``what`` (``g1+g2: liveness: ...``)."""

_listener: Stage | None = None


def say(what: str) -> None:
    """The check is now doing ``what``: told to the listener, if any."""
    if _listener is not None:
        _listener(what)


class Named(Protocol):
    @property
    def name(self) -> str: ...


def label(groups: Iterable[Named]) -> str:
    """A component in a progress line, by its groups: ``g1+g2+g3``."""
    return "+".join(g.name for g in groups)


@contextlib.contextmanager
def listening(listener: Stage | None) -> Iterator[None]:
    """Stages said meanwhile go to ``listener`` (None: nowhere)."""
    global _listener
    before, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = before


def silence() -> None:
    """In a forked worker: the listener writes to the parent's terminal, and the parent
    speaks for the workers."""
    global _listener
    _listener = None
