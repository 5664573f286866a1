"""Small helpers for the words every report uses (the command line's and the checker's)."""

from __future__ import annotations


def count(n: int, word: str) -> str:
    """``count(1, "node")`` is ``1 node``, ``count(3, "node")`` is ``3 nodes``."""
    return f"{n} {word}{'' if n == 1 else 's'}"
