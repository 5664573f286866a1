"""Terminal output: colours and tables with rich on a terminal, plain text everywhere else.

Plain text is the contract (tests, pipes, CI logs and editors read it); on a terminal the
same text gets colour and bold locations, never different words. JSON is always plain.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crg.dsl.diagnostics import ConfigError, Diagnostic, render_one, summary
from crg.dsl.redact import redact
from crg.dsl.source import NO_SPAN, Source
from crg.errors import FileError, StreamError
from crg.spec.present.words import count

__all__ = ["Output", "count"]

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow"}


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


class Output:
    """Where a command writes: results to stdout, diagnostics and progress to stderr.

    The streams are looked up when the object is made (not at import), so tests that
    capture ``sys.stdout`` see everything.
    """

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None,
                 *, color: bool | None = None) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self._rich_out = _is_terminal(self.stdout) if color is None else color
        self._rich_err = _is_terminal(self.stderr) if color is None else color

    @property
    def err_is_terminal(self) -> bool:
        return _is_terminal(self.stderr)

    # -- plain lines -------------------------------------------------------------------

    def print(self, text: str | Text = "", *, err: bool = False, style: str | None = None) -> None:
        if self._rich_err if err else self._rich_out:
            # soft_wrap: never insert line breaks into long paths or commands.
            self._write(err, lambda stream: _console(stream, soft_wrap=True).print(
                text if isinstance(text, Text) else Text(text, style=style or "")))
        else:
            line = f"{text.plain if isinstance(text, Text) else text}\n"
            self._write(err, lambda stream: stream.write(line))

    def raw(self, text: str) -> None:
        """Exactly ``text`` to stdout (formatted files, diffs, JSON)."""
        self._write(False, lambda stream: stream.write(text))

    def flush(self) -> None:
        """Push out what stdout buffered: a full disk may only show here, and would
        otherwise surface after the command, where no error can be reported."""
        self._write(False, lambda stream: stream.flush())

    def _write(self, err: bool, write: Callable[[TextIO], object]) -> None:
        """``write(stream)``; a stdout that cannot be written (a full disk, an I/O error,
        closed: ``>&-`` leaves ``sys.stdout`` None) raises :class:`StreamError` — the
        result was not given — and a reader gone away BrokenPipeError, as it is. A
        stderr that cannot be written is let be: a diagnostic has nowhere else to go, and
        the exit code says what happened all the same."""
        stream = self.stderr if err else self.stdout
        try:
            if stream is None:
                raise OSError(errno.EBADF, "it is closed")
            write(stream)
        except BrokenPipeError:
            if not err:
                raise
        except (OSError, ValueError) as exc:  # ValueError: a closed file object
            if not err:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise StreamError("standard output", reason) from None

    def json(self, data: Any) -> None:
        self.raw(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def error(self, message: str) -> None:
        """A problem that has no position in a file: ``crg: error: message`` (the secrets
        of URLs in it hidden, as in every output: :mod:`crg.dsl.redact`)."""
        line = Text("crg: ")
        line.append("error:", style="bold red")
        line.append(f" {redact(message)}")
        self.print(line, err=True)

    # -- diagnostics -------------------------------------------------------------------

    def problem(self, problem: ConfigError | FileError) -> None:
        """Report bad input: every diagnostic of a configuration, or an unreadable file."""
        if isinstance(problem, FileError):
            self.error(str(problem))
        else:
            self.diagnostics(problem.source, problem.diagnostics, with_summary=True)

    def diagnostics(self, source: Source, diagnostics: Sequence[Diagnostic],
                    *, with_summary: bool) -> None:
        """Each diagnostic compiler-style, a blank line after each, then (if asked) a
        summary such as ``x.crg: 2 errors, 1 warning``."""
        for diagnostic in diagnostics:
            block = render_one(source, diagnostic)
            self.print(_styled(block, source, diagnostic) if self._rich_err else block, err=True)
            self.print(err=True)
        if with_summary and diagnostics:
            self.print(Text(f"{source.path}: {summary(diagnostics)}", style="bold"), err=True)

    # -- tables ------------------------------------------------------------------------

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        """Columns aligned with two spaces; a rich table on a terminal wide enough for it
        (a squeezed rich table wraps every cell, which is worse than plain lines)."""
        rows = [list(row) for row in rows]
        widths = [max(len(cell) for cell in column)
                  for column in zip(headers, *rows, strict=False)]
        if self._rich_out:
            console = _console(self.stdout)
            if sum(widths) + 2 * len(widths) <= console.width:
                table = Table(*headers, header_style="bold", box=None, pad_edge=False)
                for row in rows:
                    table.add_row(*row)
                console.print(table)
                return
        for index, row in enumerate([list(headers), *rows]):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
            self.print("  ".join(cells).rstrip(), style="bold" if index == 0 else None)


def _console(stream: TextIO, *, soft_wrap: bool = False) -> Console:
    # We decided on colour ourselves (a terminal, or asked for); rich must not second-guess.
    return Console(file=stream, force_terminal=True, soft_wrap=soft_wrap, highlight=False)


def _styled(block: str, source: Source, diagnostic: Diagnostic) -> Text:
    """Colour a block from :func:`render_one` (location bold, severity coloured, carets)."""
    severity = diagnostic.severity.value
    style = _SEVERITY_STYLE[severity]
    location = source.path if diagnostic.span == NO_SPAN else (
        f"{source.path}:{diagnostic.span.line}:{diagnostic.span.column}")
    head, *rest = block.split("\n")
    text = Text()
    text.append(location, style="bold")
    text.append(": ")
    text.append(f"{severity}:", style=style)
    text.append(head[len(location) + len(severity) + 3:], style="bold")
    for line in rest:
        text.append("\n")
        gutter, bar, body = line.partition("| ")
        if line.lstrip().startswith("= hint:"):
            text.append(line, style="cyan")
        elif body.strip(" ^") == "" and "^" in body:
            text.append(gutter + bar, style="blue")
            text.append(body, style=style)
        else:
            text.append(gutter + bar, style="blue")
            text.append(body)
    return text
