"""Keeping the previous run's trace when a runtime starts again with the same ``--trace``.

The run an operator most wants to ``crg conform`` is the one that ended badly (``kill
-9``, a crash, a hung host restarted by systemd's ``Restart=on-failure``), and the next
start used to empty its trace. So a trace that holds a step is renamed before the new run
starts its own: ``FILE`` becomes ``FILE.YYYYMMDDTHHMMSSZ``, the UTC time of its last
write (so the names sort as the runs did), and the new run starts afresh at ``FILE``.
Each kept file is a whole trace, header first, that ``crg conform`` takes as it is. A
trace with no step (a header alone: a run that never took one) holds nothing to check
and is emptied as before, so that a loop of failed starts does not push out the run that
did something.

The last :data:`KEEP` are kept, older ones removed: systemd's default start limit (5
starts within 10 s) ends a crash loop before its first run's trace would go. The names
do not end in ``.jsonl``: a logrotate rule for ``*.jsonl`` (README) does not take them
for files of their own, and logrotate's numbered names (``FILE.1``) are never touched.

Only the user's own regular file is renamed or removed, and never through a symbolic
link (``lstat``; a rename moves a link itself, not what it points to) — the rules of
:func:`crg.runtime.linefile.open_output`. A trace that cannot be kept (the directory is
not writable) is said in the log, and the new run then empties it, as before: a trace
never stops the cluster service.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from pathlib import Path

from crg.runtime.linefile import problem

log = logging.getLogger("crg.runtime")

KEEP = 5
"""Earlier runs' traces kept beside the current one."""
STAMP = "%Y%m%dT%H%M%SZ"
HEADER_MAX = 4 * 1024 * 1024
"""Longest header read past to see whether a step follows (a longer one counts as
holding steps: kept, not emptied, when in doubt)."""


def keep_previous(path: Path, node: str | None = None) -> Path | None:
    """Rename the trace at ``path`` if it holds a step, to a name of its own; where it
    went (None: nothing to keep, or it could not be kept, which the log says)."""
    who = f"{node}: " if node else ""
    try:
        if not _holds_steps(path):
            return None
        kept = _free_name(path, os.lstat(path).st_mtime)
        os.rename(path, kept)
    except OSError as exc:
        log.error("%sthe previous run's trace %s could not be kept (%s): this run's trace "
                  "overwrites it", who, path, problem(exc))
        return None
    log.info("%sthe previous run's trace is kept as %s (for crg conform); this run's trace "
             "starts afresh at %s", who, kept, path)
    _prune(path, who)
    return kept


def _holds_steps(path: Path) -> bool:
    """Whether ``path`` is the user's own regular file with a line after its header.
    Absent, a link, a FIFO or a device, or another user's: False (nothing of ours to
    keep; opening it for the new run says what is wrong, if anything)."""
    try:
        seen = os.lstat(path)
    except FileNotFoundError:
        return False
    if not _ours(seen):
        return False
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if (info.st_dev, info.st_ino) != (seen.st_dev, seen.st_ino) or not _ours(info):
            return False  # replaced in between: not the file that was looked at
        handle.readline(HEADER_MAX)
        return bool(handle.read(4096).strip())


def _ours(info: os.stat_result) -> bool:
    """A regular file of the user's own (what crg writes and may rename or remove)."""
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()


def _free_name(path: Path, mtime: float) -> Path:
    """``FILE.STAMP``, or ``FILE.STAMP-N`` when a run in the same second was kept."""
    base = f"{path.name}.{time.strftime(STAMP, time.gmtime(mtime))}"
    for n in range(100):
        candidate = path.with_name(base if n == 0 else f"{base}-{n}")
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(17, "100 earlier traces of the same second are there already",
                          str(path))


def kept_traces(path: Path) -> list[Path]:
    """The earlier runs' traces kept for ``path``, oldest first."""
    pattern = re.compile(re.escape(path.name) + r"\.(\d{8}T\d{6}Z)(?:-(\d+))?")
    found = []
    for entry in os.scandir(path.parent):
        match = pattern.fullmatch(entry.name)
        if match is not None:
            found.append(((match[1], int(match[2] or 0)), Path(entry.path)))
    return [p for _, p in sorted(found)]


def _prune(path: Path, who: str) -> None:
    """Remove the kept traces beyond the :data:`KEEP` newest, counting the user's own
    regular files only: anything else with such a name is not crg's — neither to remove
    nor to count (another user's files named as newer runs in a shared directory would
    otherwise have crg remove every trace it kept)."""
    try:
        ours = [trace for trace in kept_traces(path) if _ours(os.lstat(trace))]
        for trace in ours[:-KEEP]:
            if _ours(os.lstat(trace)):
                os.unlink(trace)
                log.info("%sremoved %s, the oldest kept trace (the last %d runs' are kept)",
                         who, trace, KEEP)
    except OSError as exc:
        log.warning("%scould not remove the oldest kept traces of %s: %s", who, path,
                    problem(exc))
