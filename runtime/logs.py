"""Where ``crg run`` logs go, and in what shape (``--log-format``).

* ``text``: ``TIME LEVEL message`` lines on standard error; on a terminal, rich's
  coloured layout.
* ``journal``: what journald wants from a service's standard error — no timestamp of
  our own (the journal stamps each line) and a ``<N>`` syslog priority in front of
  every line (``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>`` debug), so that
  ``journalctl -p warning`` finds the warnings. Chosen by itself when systemd connected
  standard error to the journal (``JOURNAL_STREAM`` names that very stream).
* ``json``: one JSON object per line — ``time``, ``level``, ``logger``, ``message``
  (and ``exception``) — for log shippers.

Passwords never reach a log: the store's credentials travel as a ``Secret``
(runtime/store/access.py), whose text is ``Secret('***')``, and the secrets of every URL
are hidden on the way in (:class:`crg.runtime.logsink.LogSink`, :mod:`crg.dsl.redact`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

from rich.logging import RichHandler

from crg.runtime.logsink import LogSink

FORMATS = ("auto", "text", "journal", "json")

PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
              (logging.INFO, 6), (logging.DEBUG, 7))


def priority(level: int) -> int:
    """The syslog priority of a logging level."""
    for threshold, value in PRIORITIES:
        if level >= threshold:
            return value
    return 7


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(
                    timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname.lower(), "logger": record.name,
                "message": record.getMessage()}
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted already (LogSink: in the caller's thread)
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


def journal_stream(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Whether ``stream`` is the journal's (``JOURNAL_STREAM=DEVICE:INODE`` names it):
    only then is the journal format right; a child's redirected stderr is not."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return info.st_dev == int(device) and info.st_ino == int(inode)


def chosen(fmt: str, stream: TextIO) -> str:
    if fmt != "auto":
        return fmt
    if journal_stream(stream):
        return "journal"
    return "rich" if stream.isatty() else "text"


def setup_logging(verbose: bool, fmt: str = "auto", stream: TextIO | None = None) -> LogSink:
    """The ``crg`` logger writes to ``stream`` (standard error) in the chosen shape,
    through a :class:`LogSink`: from a thread of its own, with secrets hidden, so that a
    log that cannot be written never stops the cluster service."""
    stream = stream or sys.stderr
    root = logging.getLogger("crg")
    for old in root.handlers:
        old.close()
    root.handlers.clear()
    shape = chosen(fmt, stream)
    handler: logging.Handler
    if shape == "rich":
        handler = RichHandler(show_path=False, log_time_format="%H:%M:%S.%f")
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JournalFormatter("%(message)s") if shape == "journal"
                             else JsonFormatter() if shape == "json"
                             else logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    sink = LogSink(handler)
    root.addHandler(sink)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    # asyncio's own complaints ("Task was destroyed but it is pending!" of a gRPC call
    # an etcd stall left behind) went to Python's last-resort handler: a plain line on
    # standard error in the middle of a JSON or journal log. They take crg's shape now.
    loop_log = logging.getLogger("asyncio")
    loop_log.handlers[:] = [h for h in loop_log.handlers if not isinstance(h, LogSink)]
    loop_log.addHandler(sink)
    loop_log.propagate = False
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per monitor check
    return sink
