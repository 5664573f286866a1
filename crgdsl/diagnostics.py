"""Diagnostics: errors and warnings with positions, rendered like a compiler's.

Every problem found in a ``.crg`` file becomes a :class:`Diagnostic`. Validation collects
all of them before anything is reported; :class:`ConfigError` carries the full list so
the command line can print them together with a summary and exit with status 2.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crg.dsl.source import NO_SPAN, Source, Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    message: str
    span: Span
    hint: str | None = None
    code: str = "config"
    """A stable short name (``unknown-node``, ``syntax``...) for tools and tests."""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class ConfigError(Exception):
    """Raised when a configuration has at least one error; holds every diagnostic found."""

    def __init__(self, source: Source, diagnostics: Sequence[Diagnostic]) -> None:
        self.source = source
        self.diagnostics = tuple(sorted(diagnostics, key=_order))
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else self.diagnostics[0]
        super().__init__(f"{source.path}:{first.span}: {first.message}")

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


def _order(d: Diagnostic) -> tuple[int, int, int]:
    return (d.span.line, d.span.column, 0 if d.is_error else 1)


class Collector:
    """Accumulates diagnostics during building and validation."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, message: str, span: Span, *, hint: str | None = None, code: str) -> None:
        self.items.append(Diagnostic(Severity.ERROR, message, span, hint, code))

    def warning(self, message: str, span: Span, *, hint: str | None = None, code: str) -> None:
        self.items.append(Diagnostic(Severity.WARNING, message, span, hint, code))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Suggest the closest valid spelling, as compilers do for misspelt names."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}?"
    if options and len(options) <= 8:
        return "expected one of: " + ", ".join(options)
    return None


def render(source: Source, diagnostics: Iterable[Diagnostic]) -> str:
    """Plain-text rendering: ``path:line:col: severity: message``, source line, caret, hint."""
    blocks = [render_one(source, d) for d in diagnostics]
    return "\n".join(blocks)


def render_one(source: Source, d: Diagnostic) -> str:
    if d.span == NO_SPAN:
        head = f"{source.path}: {d.severity.value}: {d.message}"
        return head + (f"\n  = hint: {d.hint}" if d.hint else "")
    lines = [f"{source.path}:{d.span.line}:{d.span.column}: {d.severity.value}: {d.message}"]
    text = source.line(d.span.line).expandtabs(1)
    gutter = str(d.span.line)
    pad = " " * len(gutter)
    lines.append(f" {gutter} | {text}")
    if d.span.end_line == d.span.line:
        width = max(d.span.end_column - d.span.column, 1)
    else:
        width = max(len(text) - d.span.column + 1, 1)
    lines.append(f" {pad} | " + " " * (d.span.column - 1) + "^" * width)
    if d.hint:
        lines.append(f" {pad} = hint: {d.hint}")
    return "\n".join(lines)


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "no problems"
