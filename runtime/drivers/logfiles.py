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
        self._full: set[str] = set()
        """Logs whose filesystem :meth:`writable` found full (told once it has room)."""

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

    def note(self, name: str, fd: int | None, text: str) -> bool:
        """Append crg's own line to ``name``'s open log, best effort: whether it could
        be written is what tells that the log works (or works again); returned too."""
        if fd is None:
            return False
        path = self.path(name)
        try:
            os.write(fd, (redact(text) + "\n").encode("utf-8", "replace"))
        except OSError as exc:
            self._failed(path, f"cannot write to it: {problem(exc)}")
            return False
        if self.board is not None:
            self.board.sink("run-dir", str(path)).worked()
        return True

    def writable(self, name: str, text: str | None = None) -> int | None:
        """Open ``name``'s log for a process's output: its descriptor, or None when the
        log cannot be opened *or written* (a failing output, reported). A process handed
        a log it cannot write to fails its own first write — Python's ``print``, a
        shell's ``echo`` exit 1 on a full disk —, so the output would cost the service
        after all. With ``text``, crg's line written first is the test; without (short
        commands: a check every few seconds must not add a line each time), the
        filesystem's free blocks are."""
        fd = self.open(name)
        if fd is None:
            return None
        if text is not None:
            written = self.note(name, fd, text)
        else:
            written = _room(fd)
            if not written:
                self._full.add(name)
                self._failed(self.path(name), "cannot write to it: No space left on device")
            elif name in self._full:  # room again: the failure the probe reported is over
                self._full.discard(name)
                if self.board is not None:
                    self.board.sink("run-dir", str(self.path(name))).worked()
        if not written:
            with contextlib.suppress(OSError):
                os.close(fd)
            return None
        return fd

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


def _room(fd: int) -> bool:
    """Whether the filesystem of ``fd`` has a block left for this user (root may use the
    reserved ones); a filesystem that cannot tell is assumed to have room."""
    try:
        st = os.fstatvfs(fd)
    except OSError:
        return True
    free = st.f_bfree if os.geteuid() == 0 else st.f_bavail
    return free > 0 or st.f_blocks == 0
