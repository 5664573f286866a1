"""The trace: the spec-level transitions a runtime performed, as JSON lines.

The first line is a header::

    {"trace": 1, "cluster": "shop", "mode": "embedded", "node": null,
     "nodes": [...], "groups": [...], "config_sha256": "...", "config_fingerprint": "..."}

(``config_sha256``: of the configuration's text; ``config_fingerprint``: of what it means,
:mod:`crg.runtime.fingerprint`, by which ``crg conform`` tells another configuration)

then one line per transition, in the order they were committed::

    {"seq": 1, "time": "...", "revision": 7, "agent": "n1",
     "action": "claim", "group": "web", "node": "n1", "system": true,
     "before": "0", "state": "123456"}

``action``/``group``/``node``/``system`` are :func:`crg.spec.present.modes.action_dict`; ``agent``
is who committed it (a node, or ``runtime`` for operator commands and observed crashes);
``revision`` is the store revision of the commit (0 for a step taken while cut off from
the store); ``before`` and ``state`` are the packed spec states before and after it
(decimal strings), as the recording runtime saw them. ``crg
conform`` replays a trace against the spec.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from crg.dsl.model import Config
from crg.runtime.drivers.sinks import iso_time
from crg.runtime.fingerprint import fingerprint
from crg.runtime.health import Board
from crg.runtime.linefile import LineFile
from crg.runtime.trace_keep import keep_previous
from crg.spec import Action, Model, State
from crg.spec.present.modes import action_dict

VERSION = 1
log = logging.getLogger("crg.runtime")

LIMIT = 100_000
"""Transitions kept while the trace cannot be written (about 30 MB)."""


def config_digest(config: Config) -> str:
    return hashlib.sha256(config.source.text.encode()).hexdigest()


def header(config: Config, mode: str, node: str | None) -> dict[str, Any]:
    return {"trace": VERSION, "cluster": config.cluster.name, "mode": mode, "node": node,
            "nodes": list(config.cluster.nodes), "groups": [g.name for g in config.groups],
            "config_sha256": config_digest(config),
            "config_fingerprint": fingerprint(config)[0]}


class TraceWriter:
    """The trace file, written by a thread of its own (:class:`LineFile`): a full disk
    or a stalled one costs trace lines (kept and retried, bounded), never a commit;
    ``board`` shows how the file fares. A new file is made ``0600``; an existing one
    that holds steps is the previous run's, kept under another name
    (:func:`crg.runtime.trace_keep.keep_previous`), and one that holds none is emptied
    (only the user's own regular file, never through a link)."""

    def __init__(self, path: Path, config: Config, model: Model, mode: str,
                 node: str | None = None, *, board: Board | None = None) -> None:
        self.model = model
        self._owns_board = board is None
        self._board = board if board is not None else Board()
        keep_previous(path, node)
        self._file = LineFile(self._board.sink("trace", str(path)), path, truncate=True,
                              limit=LIMIT)
        self._seq = 0
        self._write(header(config, mode, node))

    def record(self, action: Action, by: str, before: State, after: State,
               revision: int) -> None:
        self._seq += 1
        self._write({"seq": self._seq, "time": iso_time(), "revision": revision,
                     "agent": by, **action_dict(self.model, action), "before": str(before),
                     "state": str(after)})

    def _write(self, data: dict[str, Any]) -> None:
        self._file.write(json.dumps(data, separators=(",", ":")))

    def flush(self, timeout_s: float = 5.0) -> bool:
        return self._file.flush(timeout_s)

    def close(self, timeout_s: float = 2.0) -> int:
        """Write what is left within ``timeout_s``; how many lines could not be, which
        the log says: the runtime stops after this, and no ``sink-recovered`` will ever
        count them, so without it a trace cut short on a full disk would be silent."""
        lost = self._file.close(timeout_s)
        if lost:
            health = self._file.health
            log.error("%d trace line(s) could not be written to %s (%s)", lost,
                      health.target, health.reason or "out of time")
        if self._owns_board:
            self._board.close()
        return lost
