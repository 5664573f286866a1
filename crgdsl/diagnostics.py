"""Diagnostics: errors and warnings with positions, rendered like a compiler's.

Every problem found in a ``.crg`` file becomes a :class:`Diagnostic`. Validation collects
all of them before anything is reported; :class:`ConfigError` carries the full list so
the command line can print them together with a summary and exit with status 2.
"""

from __future__ import annotations

import difflib
import enum
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crg.dsl.redact import redact, redacted_offset
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
        super().__init__(f"{source.path}:{first.span}: {redact(first.message)}")

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """The warnings found before the errors stopped the work (shown with them)."""
        return tuple(d for d in self.diagnostics if not d.is_error)


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


# Characters that look alike in many fonts: n1 typed as nl, node0 as nodeO.
_LOOK_ALIKE = str.maketrans("lio", "110")


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Suggest the closest valid spelling, as compilers do for misspelt names.

    The same word in another case first (N2 for n2), then one that differs only in
    look-alike characters (nl for n1): difflib rates two-character names too far apart
    for either. Then the closest spelling regardless of case.
    """
    options = sorted(set(choices))
    lowered = word.lower()
    shape = lowered.translate(_LOOK_ALIKE)
    for same in ([o for o in options if o.lower() == lowered],
                 [o for o in options if o.lower().translate(_LOOK_ALIKE) == shape]):
        if same:
            return f"did you mean {same[0]}?"
    by_lower: dict[str, str] = {}
    for option in options:
        by_lower.setdefault(option.lower(), option)
    close = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"did you mean {by_lower[close[0]]}?"
    if options and len(options) <= 8:
        return "expected one of: " + ", ".join(options)
    return None


def render(source: Source, diagnostics: Iterable[Diagnostic]) -> str:
    """Plain-text rendering: ``path:line:col: severity: message``, source line, caret, hint."""
    blocks = [render_one(source, d) for d in diagnostics]
    return "\n".join(blocks)


def headline(source: Source, d: Diagnostic, *, hint: bool = False) -> str:
    """``x.crg:3:5: error: message``: where and what, without the source line (secrets
    hidden, as in :func:`render_one`); with ``hint``, its hint after it in brackets, for
    a log that takes one line per record."""
    where = source.path if d.span == NO_SPAN else f"{source.path}:{d.span.line}:{d.span.column}"
    said = f"{where}: {d.severity.value}: {visible(redact(d.message))}"
    return said + (f" (hint: {visible(redact(d.hint))})" if hint and d.hint else "")


def render_one(source: Source, d: Diagnostic) -> str:
    # The secrets of URLs are hidden here too (crg.dsl.redact): in the message, the hint
    # and the source line, whose caret keeps pointing at the same characters.
    hint = visible(redact(d.hint)) if d.hint else None
    if d.span == NO_SPAN:
        return headline(source, d) + (f"\n  = hint: {hint}" if hint else "")
    lines = [headline(source, d)]
    line = source.line(d.span.line)
    text = redact(line)
    gutter = str(d.span.line)
    pad = " " * len(gutter)
    start = redacted_offset(line, d.span.column - 1)
    end = redacted_offset(line, d.span.end_column - 1 if d.span.end_line == d.span.line
                          else len(line), end=True)
    lo, hi = _window(len(text), start, end)
    lead, tail = ("..." if lo else ""), ("..." if hi < len(text) else "")
    lines.append(f" {gutter} | {lead}{visible(text[lo:hi])}{tail}")
    before = lead + text[lo:start]
    width = max(_columns(visible(text[start:min(end, hi)])), 1)
    lines.append(f" {pad} | " + " " * _columns(visible(before)) + "^" * width)
    if hint:
        lines.append(f" {pad} = hint: {hint}")
    return "\n".join(lines)


# A source line longer than this (generated or minified configs) is shown as a window
# around the span, so one error does not print a screenful; the caret stays aligned.
SHOWN_CHARS = 120
SHOWN_BEFORE = 40


def _window(length: int, start: int, end: int) -> tuple[int, int]:
    """The slice ``[lo, hi)`` of a line of ``length`` characters to show for a span that
    starts at ``start`` and ends at ``end``: the whole line when it is short enough."""
    if length <= SHOWN_CHARS:
        return 0, length
    lo = max(0, min(start - SHOWN_BEFORE, length - SHOWN_CHARS))
    return lo, min(length, lo + SHOWN_CHARS)


# Characters that would act on the terminal instead of showing (ESC sequences, NUL, a
# carriage return that overwrites the line, bidirectional overrides that reorder it,
# line separators): diagnostics echo source text, so they are shown as escapes.
_INVISIBLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def and_list(words: Sequence[str]) -> str:
    """Words for a message: "a", "a and b", "a, b and c"."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def visible(text: str) -> str:
    """``text`` with tabs as one space and every invisible character as an escape."""
    out = []
    for char in text:
        if char == "\t":
            out.append(" ")
        elif unicodedata.category(char) in _INVISIBLE:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
                       if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def _columns(text: str) -> int:
    """How many terminal columns ``text`` takes: wide (CJK) characters take two, combining
    marks none, so the caret stays under the characters it points at."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "no problems"
