"""Exit codes and the errors that the command line reports without a traceback.

Only :func:`crg.cli.main` turns exceptions into exit codes; commands return an
:class:`ExitCode` for their normal outcome and raise for everything else.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    VIOLATED = 1
    """A property does not hold (``crg check``), or ``crg fmt --check`` would change a file."""
    BAD_INPUT = 2
    """Unreadable file, invalid configuration, or a usage error."""
    INTERNAL = 3
    """A bug in crg."""
    INCONCLUSIVE = 4
    """``crg check``: nothing is violated, but not every property was decided."""
    REFUSED = 5
    """An operator command cannot take effect in the cluster's current state (the reason
    is printed): nothing was changed."""
    UNFINISHED = 6
    """An operator command was accepted, but its groups did not come to rest as it asked
    within ``--timeout`` (the outcome so far is printed; the command stays in force)."""
    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT, as shells report it)."""
    TERMINATED = 143
    """SIGTERM (128 + SIGTERM), e.g. ``kill PID`` or a service manager stopping it."""
    BROKEN_PIPE = 141
    """The reader of our output went away (128 + SIGPIPE), e.g. ``crg show x.crg | head``."""


class Terminated(BaseException):
    """SIGTERM arrived (:mod:`crg.start` raises it from the signal handler). A
    BaseException, as KeyboardInterrupt is, so that no ``except Exception`` of a command
    swallows it."""


class FileError(Exception):
    """A file named on the command line that cannot be read or written (missing, a
    directory, no permission...)."""

    def __init__(self, path: str, reason: str, action: str = "read") -> None:
        super().__init__(f"cannot {action} '{path}': {reason}")
        self.path = path
        self.reason = reason


class StreamError(FileError):
    """Standard output cannot be written: a full disk, an I/O error, or no standard output
    at all (``crg show x.crg >&-``). The result could not be given: bad input from the
    environment, not a bug (a reader that went away is BrokenPipeError, not this)."""

    def __init__(self, stream: str, reason: str) -> None:
        Exception.__init__(self, f"cannot write {stream}: {reason}")
        self.path = stream
        self.reason = reason
