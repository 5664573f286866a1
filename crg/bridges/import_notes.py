"""What an importer could not map: a warning at the input's element or line, and a comment
at the matching place of the written ``.crg`` file."""

from __future__ import annotations

from crg.dsl import Diagnostic, Severity
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
