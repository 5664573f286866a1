"""What an importer could not map: a warning at the input's element or line, and a comment
at the matching place of the written ``.crg`` file."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from crg.dsl import ConfigError, Diagnostic, Severity
from crg.dsl.source import Source, Span


class Notes:
    """The warnings about one input file."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.items: list[Diagnostic] = []
        self._said: set[tuple[Span, str]] = set()

    def add(self, span: Span, message: str, comments: list[str] | None = None) -> str:
        """Record ``message`` at ``span``; also append it to ``comments`` (a draft's)."""
        if (span, message) not in self._said:  # a set: a large CIB has thousands
            self._said.add((span, message))
            self.items.append(Diagnostic(Severity.WARNING, message, span, None, "import"))
        if comments is not None and message not in comments:
            comments.append(message)
        return message


class ImportFailed(ConfigError):
    """An import's error, with the warnings said before it, file by file.

    Fixing the error alone would otherwise meet those warnings only on the next run; the
    command shows them all, then the error. Still a :class:`ConfigError` (the error's own
    diagnostics), so whatever catches one reports the error.
    """

    def __init__(self, error: ConfigError, notes: Sequence[Notes]) -> None:
        super().__init__(error.source, error.diagnostics)
        self.notes = tuple(notes)


@contextmanager
def said_with_errors(notes: Sequence[Notes]) -> Iterator[None]:
    """Raise a :class:`ConfigError` of the block as :class:`ImportFailed` with ``notes`` as
    they are when it is raised (a list may grow within the block, file by file)."""
    try:
        yield
    except ImportFailed:
        raise
    except ConfigError as exc:
        raise ImportFailed(exc, notes) from None


SHOWN_ALIKE = 3
"""How many warnings that say the same of different elements the terminal shows in full."""

_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


@dataclass(frozen=True, slots=True)
class Alike:
    """Warnings left out of the terminal: ``count`` more that say what ``example`` says."""

    count: int
    example: str


def shown(items: Sequence[Diagnostic]) -> tuple[list[Diagnostic], list[Alike]]:
    """The warnings to print in full — the first :data:`SHOWN_ALIKE` of each that differ
    only in the names they quote — and how many of each kind are left out. A CIB of 300
    groups that all lack the same thing gave 300 identical paragraphs, burying the one
    warning that was different; the ``.crg``'s comments still have every one."""
    seen: dict[str, int] = {}
    first_left_out: dict[str, str] = {}
    out: list[Diagnostic] = []
    for item in items:
        kind = _QUOTED.sub('""', item.message)
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= SHOWN_ALIKE:
            out.append(item)
        else:
            first_left_out.setdefault(kind, item.message)
    return out, [Alike(seen[kind] - SHOWN_ALIKE, example)
                 for kind, example in first_left_out.items()]
