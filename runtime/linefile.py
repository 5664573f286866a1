"""An output of lines (the events file, the trace, standard output) that never stops the
cluster service.

:meth:`LineFile.write` only queues the line: a thread of the file's own writes it, so a
full disk (``ENOSPC``), a file at its size limit (``EFBIG``), a slow or stalled disk or a
reader that stopped reading never raises into a control loop nor blocks one. A failed
write is tried again with growing pauses (:data:`BACKOFF_MIN_S` to :data:`BACKOFF_MAX_S`)
from where it stopped, so a short write never tears a line, and lines keep their order;
at most ``limit`` lines wait, newer ones are dropped and counted. The file's
:class:`~crg.runtime.health.SinkHealth` says how it fares.

Opening (:func:`open_output`) refuses to follow a symbolic link, creates a new file
``0600`` (events and transitions may tell more than everyone should read), and refuses
an existing regular file that belongs to another user. A file renamed or removed under
it (log rotation) is followed: the next lines go to a new file at the path.
"""

from __future__ import annotations

import collections
import errno
import os
import pwd
import stat
import threading
import time
from pathlib import Path

from crg.runtime.health import SinkHealth

BACKOFF_MIN_S = 0.25
BACKOFF_MAX_S = 5.0
LIMIT = 20_000
"""Lines kept while the file cannot be written (about 5 MB of events)."""
BATCH_BYTES = 256 * 1024


class UnsafeFile(OSError):
    """A file crg will not write: a symbolic link, or another user's file."""


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def open_output(path: Path, *, truncate: bool = False, wait: bool = True) -> int:
    """A descriptor to append to ``path``: created ``0600`` if new (``O_EXCL``), never
    through a symbolic link (``O_NOFOLLOW``); an existing regular file must be the
    user's own. ``truncate`` empties a regular file once it is known to be ours.
    ``wait=False`` does not wait for a reader of a FIFO (the check before start: an
    absent reader is no error then). Raises OSError (:class:`UnsafeFile` for a refusal)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    try:
        info = os.lstat(path)
    except FileNotFoundError:  # removed in between: make it again, ours
        return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(errno.ELOOP, "is a symbolic link; crg does not follow links for "
                         "the files it writes (name the file itself)", str(path))
    _check_owner(path, info)  # before opening: another user's FIFO could block the open
    if stat.S_ISFIFO(info.st_mode) and not wait:
        try:
            fd = os.open(path, flags | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no reader yet: the writer waits for one
                return -1
            raise
    else:
        fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        _check_owner(path, info)  # again: what was opened may not be what lstat saw
        if stat.S_ISREG(info.st_mode) and truncate:
            os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_owner(path: Path, info: os.stat_result) -> None:
    """Only the user's own files are written — a regular file, and a FIFO or a socket as
    well: another user's FIFO at the path (planted after a rotation freed it) would hand
    that user every event and transition, which crg makes ``0600`` to keep from them.
    Devices are exempt: only root makes them (``/dev/null``, ``/dev/full``)."""
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return
    if info.st_uid != os.geteuid():
        raise UnsafeFile(errno.EPERM, f"belongs to {user_name(info.st_uid)}, not to "
                         f"{user_name(os.geteuid())}; crg writes only its own "
                         "files (remove it, or name another)", str(path))


def problem(exc: OSError) -> str:
    """An operating system error as a reason, without the path (the sink names it)."""
    return exc.strerror or str(exc)


class LineFile:
    """Lines to ``path`` (None: standard output), written by a thread of their own."""

    def __init__(self, health: SinkHealth, path: Path | None, *, truncate: bool = False,
                 limit: int = LIMIT) -> None:
        self.health = health
        self.path = path
        self._truncate = truncate
        self._limit = limit
        self._lines: collections.deque[bytes] = collections.deque()
        self._cv = threading.Condition()
        self._closing = False
        self._stop = threading.Event()
        self._deadline = 0.0
        self._idle = True
        self._offset = 0
        """Bytes of the front of the queue already written (after a short write)."""
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"crg-{health.name}")
        self._thread.start()

    def write(self, line: str) -> None:
        """Queue one line (without its newline); never raises, never blocks."""
        data = (line + "\n").encode("utf-8", "replace")
        with self._cv:
            if self._closing:
                return
            if len(self._lines) >= self._limit:
                self.health.dropped += 1
                return
            self._lines.append(data)
            self.health.pending = len(self._lines)
            self._idle = False
            self._cv.notify()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait (bounded) until every queued line is written; whether they were."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while not self._idle:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self, timeout_s: float = 2.0) -> int:
        """Write what is queued within ``timeout_s`` (however the file fares), then stop.
        Returns how many lines were not written."""
        with self._cv:
            self._closing = True
            self._deadline = time.monotonic() + timeout_s
            self._cv.notify_all()
        self._stop.set()
        self._thread.join(timeout_s + 0.5)
        with self._cv:
            return len(self._lines)

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        fd: int | None = None
        backoff = BACKOFF_MIN_S
        while True:
            with self._cv:
                while not self._lines and not self._closing:
                    self._idle = True
                    self._cv.notify_all()
                    self._cv.wait()
                if not self._lines or (self._closing and time.monotonic() > self._deadline):
                    break
                batch = self._batch()
            try:
                if fd is not None and self._moved(fd):
                    os.close(fd)  # rotated: the lines from now on go to a new file
                    fd = None
                if fd is None:
                    fd = self._open()
                self._write(fd, batch)
            except Exception as exc:  # OSError; anything else would be a bug, told the same
                self._forget_written()
                self.health.failed(problem(exc) if isinstance(exc, OSError)
                                   else f"{type(exc).__name__}: {exc}")
                if self._closing:
                    time.sleep(min(backoff, max(0.0, self._deadline - time.monotonic())))
                else:
                    self._stop.wait(backoff)  # not woken by new lines: that is the backoff
                backoff = min(2 * backoff, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_MIN_S
            self._forget_written()
            self.health.worked()
        with self._cv:
            self._idle = True
            self._cv.notify_all()
        if fd is not None and self.path is not None:
            try:
                os.close(fd)
            except OSError as exc:
                self.health.failed(problem(exc))

    def _batch(self) -> bytes:
        """The front of the queue, up to BATCH_BYTES (at least one line): the same
        first lines as the last try, so a retry goes on from ``_offset``."""
        parts: list[bytes] = []
        size = 0
        for line in self._lines:
            if parts and size + len(line) > BATCH_BYTES:
                break
            parts.append(line)
            size += len(line)
        return b"".join(parts)

    def _forget_written(self) -> None:
        """Take the lines written whole off the queue (``_offset`` then counts into the
        first line left)."""
        with self._cv:
            while self._lines and self._offset >= len(self._lines[0]):
                self._offset -= len(self._lines.popleft())
            self.health.pending = len(self._lines)

    def _open(self) -> int:
        if self.path is None:
            return 1
        fd = open_output(self.path, truncate=self._truncate)
        self._truncate = False  # once: a reopened trace must not lose what it holds
        return fd

    def _moved(self, fd: int) -> bool:
        """Whether ``path`` no longer names the file ``fd`` writes to: renamed or removed
        (logrotate's default), so the next lines must open a new one, as ``tail -F``
        follows it. One ``stat`` per batch of lines."""
        if self.path is None:
            return False
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return True
        held = os.fstat(fd)
        return (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino)

    def _write(self, fd: int, data: bytes) -> None:
        """Write ``data`` from ``_offset`` on, moving ``_offset`` with every byte that
        lands: after an error the retry starts where the last write stopped."""
        view = memoryview(data)
        while self._offset < len(data):
            self.health.busy_since = time.monotonic()
            try:
                self._offset += os.write(fd, view[self._offset:])
            finally:
                self.health.busy_since = None
