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

    def add(self, span: Span, message: str, comments: list[str] | None = None) -> str:
        """Record ``message`` at ``span``; also append it to ``comments`` (a draft's)."""
        diagnostic = Diagnostic(Severity.WARNING, message, span, None, "import")
        if diagnostic not in self.items:
            self.items.append(diagnostic)
        if comments is not None and message not in comments:
            comments.append(message)
        return message
