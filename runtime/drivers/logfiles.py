"""The log files of one node's processes in the run directory (``logs/NODE/NAME.log``).

An application's output is worth keeping, never worth its service: a log that cannot be
opened (a full disk, too many open files, a link planted where it should be) leaves the
process's output discarded (``/dev/null``) instead of keeping it from running, and the
failure is an output failure like any other (:mod:`crg.runtime.health`: reported once,
shown by ``crg status``). Files are opened without following links
(:func:`crg.runtime.rundir.open_beneath`) and made ``0600``; what crg itself writes into
them (a line per start and exit) is best effort, with secrets hidden.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from crg.dsl.redact import redact
from crg.runtime.health import Board
from crg.runtime.linefile import problem
from crg.runtime.rundir import open_beneath

log = logging.getLogger("crg.runtime")


class LogFiles:
    def __init__(self, log_dir: Path, root: Path, board: Board | None = None) -> None:
        """``root``: the run directory, below which no link is followed."""
        self.dir = log_dir
        self.root = root if log_dir.is_relative_to(root) else log_dir
        self.board = board

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def open(self, name: str) -> int | None:
        """A descriptor to append to ``name``'s log (the caller closes it), or None when
        it cannot be opened (a failing output, reported)."""
        path = self.path(name)
        try:
            return open_beneath(self.root, path)
        except OSError as exc:
            self._failed(path, f"cannot open it: {problem(exc)}")
            return None

    def note(self, name: str, fd: int | None, text: str) -> None:
        """Append crg's own line to ``name``'s open log, best effort: whether it could
        be written is what tells that the log works (or works again)."""
        if fd is None:
            return
        path = self.path(name)
        try:
            os.write(fd, (redact(text) + "\n").encode("utf-8", "replace"))
        except OSError as exc:
            self._failed(path, f"cannot write to it: {problem(exc)}")
            return
        if self.board is not None:
            self.board.sink("run-dir", str(path)).worked()

    def note_to(self, name: str, text: str) -> None:
        """Open ``name``'s log, append crg's own line, close it (best effort)."""
        fd = self.open(name)
        if fd is not None:
            try:
                self.note(name, fd, text)
            finally:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _failed(self, path: Path, why: str) -> None:
        if self.board is not None:
            self.board.sink("run-dir", str(path)).failed(why)
        else:
            log.warning("%s: %s; the output goes on without it", path, why)
