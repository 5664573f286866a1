"""The runtime's log as an output that never stops the cluster service.

:class:`LogSink` is the one handler of the ``crg`` logger under ``crg run``: it formats
a record where it is logged (with every URL's secrets hidden, :func:`crg.dsl.redact`),
queues it (bounded: when full, records are dropped and counted) and returns at once; a
thread of its own hands it to the real handler (standard error, rich on a terminal). So
a standard error on a full disk or a stalled pipe costs log lines, never a control loop.
A record that cannot be written is tried again with growing pauses; the failure is
reported once through the other outputs (the events, journald: see
:mod:`crg.runtime.health`), and shown by ``crg status``; its end is written into the log
as well, which works again.

A record to a stream with a descriptor (standard error on a file, a pipe) is written with
``os.write`` from where the last write stopped, not through the stream's buffer: on a
full disk the kernel takes the first bytes of a record that fit and refuses the rest,
and Python's buffered stream, handed the whole record again on the retry, lost or
repeated parts of it (a torn line, the next record glued onto it).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import queue
import socket
import sys
import threading
import time

from crg.dsl.redact import redact
from crg.runtime.health import Board, Report, SinkHealth

LIMIT = 10_000
"""Records kept while the log cannot be written."""
BACKOFF_MIN_S = 0.25
BACKOFF_MAX_S = 5.0
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def to_journal(message: str, priority: int = 3, path: str = JOURNAL_SOCKET) -> bool:
    """One message to journald's native socket, if there is one (systemd's protocol:
    ``KEY=value`` lines in a datagram); never blocks, never raises. Whether it was sent."""
    if not os.path.exists(path):
        return False
    text = " ".join(message.splitlines())
    payload = f"MESSAGE={text}\nPRIORITY={priority}\nSYSLOG_IDENTIFIER=crg\n".encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(payload, path)
    except OSError:
        return False
    return True


class LogSink(logging.Handler):
    def __init__(self, inner: logging.Handler, *, limit: int = LIMIT) -> None:
        super().__init__()
        self.inner = inner
        # The handlers of the standard library report their own failures by printing a
        # traceback to standard error (which may be what fails); here it is a failure of
        # this output instead, retried and reported once.
        inner.handleError = self._inner_failed  # type: ignore[method-assign]
        self.health: SinkHealth | None = None
        self.board: Board | None = None
        self.dropped = 0
        self._queue: queue.Queue[logging.LogRecord | threading.Event | None] = queue.Queue(
            maxsize=limit)
        self._stop = threading.Event()
        self._failure: str | None = None
        self._message = logging.Formatter()  # for the traceback
        self._fd = _descriptor(inner)
        self._thread = threading.Thread(target=self._run, name="crg-log", daemon=True)
        self._thread.start()

    def attach(self, board: Board) -> None:
        """Report this output's health on ``board``, and tell the others' through it."""
        self.board = board
        self.health = board.sink("log", "standard error")
        self.health.dropped = self.dropped
        board.reporters.append(self.told)

    def told(self, report: Report) -> None:
        if report.sink == "log":
            # The log cannot say that it fails: journald may hear it (the events do too).
            to_journal(report.text(), 3 if report.failing else 5)
            if report.failing:
                return
            # It works again: it says so itself too, so that a reader of the log alone
            # knows where its gap is and what it cost.
        level = logging.ERROR if report.failing else logging.WARNING
        logging.getLogger("crg.runtime").log(level, "%s", report.text())

    # -- the caller's side -----------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record, formatted now (its arguments may change later) and with
        secrets hidden; never blocks."""
        try:
            text = redact(record.getMessage())
        except Exception:  # a record that cannot be formatted: as logging would say
            text = f"(unformattable log record: {record.msg!r})"
        trace = (self._message.formatException(record.exc_info) if record.exc_info
                 else record.exc_text)
        prepared = copy.copy(record)
        prepared.msg, prepared.args, prepared.message = text, None, text
        # The traceback as text (the formatters append it); the live objects stay here.
        prepared.exc_info, prepared.stack_info = None, None
        prepared.exc_text = redact(trace) if trace else None
        try:
            self._queue.put_nowait(prepared)
        except queue.Full:
            self.dropped += 1
            if self.health is not None:
                self.health.dropped += 1
                self.health.pending = self._queue.qsize()

    def detach(self) -> None:
        """No more reports to or from the board (the runtime ends)."""
        if self.board is not None and self.told in self.board.reporters:
            self.board.reporters.remove(self.told)
        self.board = self.health = None

    def drain(self, timeout_s: float = 2.0) -> bool:
        """Wait (bounded) until what is queued now is written; whether it was."""
        written = threading.Event()
        try:
            self._queue.put(written, timeout=timeout_s)
        except queue.Full:
            return False
        return written.wait(timeout_s)

    def close(self) -> None:
        """Write what is queued (briefly: a log that fails gets no more time) and stop."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=0.5)
        self._thread.join(0.5)
        self.detach()
        super().close()

    # -- the thread ------------------------------------------------------------------------

    def _inner_failed(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        self._failure = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                         else f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            if record is None:
                return
            if isinstance(record, threading.Event):
                record.set()  # a flush: everything before it is written
                continue
            backoff = BACKOFF_MIN_S
            data = self._bytes(record)
            offset = 0
            while True:
                self._failure = None
                try:
                    if data is None:
                        self.inner.handle(record)
                    else:
                        offset = self._write(data, offset)
                except Exception as exc:  # a handler that raises instead of reporting
                    self._failure = f"{type(exc).__name__}: {exc}"
                health = self.health
                if self._failure is None:
                    if health is not None:
                        health.pending = self._queue.qsize()
                        health.worked()
                    break
                if health is not None:
                    health.failed(self._failure)
                if self._stop.wait(backoff):
                    break  # stopping: a log that fails gets no more of our time
                backoff = min(2 * backoff, BACKOFF_MAX_S)

    def _bytes(self, record: logging.LogRecord) -> bytes | None:
        """The record as the inner handler would write it, for :meth:`_write`; None when
        it is the inner handler's to write (no descriptor: a terminal's rich layout, a
        stream in memory), or cannot be formatted (the handler reports that)."""
        if self._fd is None or not isinstance(self.inner, logging.StreamHandler):
            return None
        try:
            text = self.inner.format(record) + self.inner.terminator
        except Exception:
            return None
        encoding = getattr(self.inner.stream, "encoding", None) or "utf-8"
        return text.encode(encoding, "backslashreplace")

    def _write(self, data: bytes, offset: int) -> int:
        """Write ``data`` from ``offset`` on; returns how far it got. A failure leaves
        ``_failure`` set, and the retry goes on from there: no byte twice, none lost."""
        assert self._fd is not None
        if offset == 0:
            # What others printed through the stream itself goes first (best effort: a
            # stream that cannot be flushed now keeps it for later).
            with contextlib.suppress(Exception):
                self.inner.stream.flush()  # type: ignore[attr-defined]
        view = memoryview(data)
        health = self.health
        while offset < len(data):
            if health is not None:
                health.busy_since = time.monotonic()  # a stalled write is told as well
            try:
                offset += os.write(self._fd, view[offset:])
            except OSError as exc:
                self._failure = exc.strerror or str(exc)
                return offset
            finally:
                if health is not None:
                    health.busy_since = None
        return offset


def _descriptor(handler: logging.Handler) -> int | None:
    """The descriptor a plain stream handler's stream writes to, if it has one."""
    if not isinstance(handler, logging.StreamHandler):
        return None
    try:
        fd = handler.stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None
