"""Source text and positions: every node of the config model points back here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns count from 1, ``end_column`` is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(line: int, column: int, width: int = 1) -> Span:
        return Span(line, column, line, column + max(width, 1))

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


NO_SPAN = Span(0, 0, 0, 0)
"""Used for values that come from built-in defaults rather than the file."""


@dataclass(frozen=True, slots=True)
class Source:
    """A named source text. ``path`` is what diagnostics print (as given on the command line)."""

    path: str
    text: str

    def lines(self) -> list[str]:
        """The text split the way lark counts lines: at ``\\n`` only (``str.splitlines``
        also splits at ``\\r``, form feeds and U+2028, which would shift every line after
        one of them). A ``\\r`` before the newline is dropped."""
        return list(_lines(self.text))

    def line(self, number: int) -> str:
        lines = _lines(self.text)
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return ""

    def end(self) -> tuple[int, int]:
        """Line and column just after the last non-blank character (where EOF errors point)."""
        lines = self.text.rstrip().split("\n")
        return len(lines), len(lines[-1].removesuffix("\r")) + 1


@lru_cache(maxsize=4)
def _lines(text: str) -> tuple[str, ...]:
    """:meth:`Source.lines`, split once per text: every diagnostic shows its line, and an
    import of a large CIB has thousands (splitting the whole file for each made it
    quadratic). A str caches its hash, so finding the text again costs nothing."""
    return tuple(line.removesuffix("\r") for line in text.split("\n"))
