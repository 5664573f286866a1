"""Where events go: a JSON-lines log, command hooks, webhooks.

Commands get the event in ``CRG_*`` environment variables (in the manner of Oracle FAN
callouts and Pacemaker alert agents) and run in their own process group with a time
limit; webhooks get the same fields as a JSON body, with a few retries and a timeout.
Delivery never raises: a failure is logged and reported to the caller.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from crg.dsl.model import Sink, SinkKind
from crg.dsl.redact import redact_data
from crg.dsl.templates import substitute
from crg.runtime.drivers.process import Supervisor, text_argv
from crg.runtime.health import Board, Report
from crg.runtime.linefile import LineFile

log = logging.getLogger("crg.runtime")

COMMAND_TIMEOUT_S = 10.0
WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF_S = 0.25


def iso_time(epoch: float | None = None) -> str:
    t = time.time() if epoch is None else epoch
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


class EventLog:
    """Every event as one JSON line: to a file (``--events``) and/or standard output
    (``--json``), each written by a thread of its own (:class:`LineFile`), so that a
    full disk or a stalled reader never stops the cluster service; a new file is made
    ``0600``. Secrets in URLs are hidden (:func:`crg.dsl.redact.redact_data`).

    The outputs' health is on :attr:`board`, which the runtime's other outputs share:
    a report that one of them fails or works again becomes a ``sink-failing`` /
    ``sink-recovered`` event here (not in the output that fails, which cannot take it;
    its recovery it gets, so that its file says where lines are missing)."""

    def __init__(self, path: Path | None = None, stdout: bool = False,
                 board: Board | None = None) -> None:
        self._owns_board = board is None
        self.board = board if board is not None else Board()
        self.path = path
        self._outputs: list[LineFile] = []
        if path is not None:
            self._outputs.append(LineFile(self.board.sink("events", str(path)), path))
        if stdout:
            self._outputs.append(LineFile(self.board.sink("stdout", "standard output"),
                                          None))
        self.records: list[dict[str, Any]] = []
        """Kept in memory too, for ``crg status`` and the tests (bounded)."""
        self._lock = threading.Lock()
        self.board.reporters.append(self._told)

    def _told(self, report: Report) -> None:
        self.emit(report.as_event(), skip=report.sink if report.failing else None)

    def emit(self, record: Mapping[str, Any], *, skip: str | None = None) -> None:
        """Record one event (from any thread); never raises, never blocks on a write."""
        data: dict[str, Any] = redact_data({"time": iso_time(), **record})
        line = json.dumps(data, ensure_ascii=False, sort_keys=False)
        for output in self._outputs:
            if output.health.name != skip:
                output.write(line)
        with self._lock:
            self.records.append(data)
            if len(self.records) > 2000:
                del self.records[:1000]

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait (bounded) until every event so far is written; whether it was."""
        return all([output.flush(timeout_s) for output in self._outputs])

    def close(self, timeout_s: float = 2.0) -> None:
        """Write what is left within ``timeout_s`` (however the outputs fare), then stop;
        what could not be written is logged."""
        if self._told in self.board.reporters:
            self.board.reporters.remove(self._told)
        for output in self._outputs:
            lost = output.close(timeout_s)
            if lost:
                log.error("%d event(s) could not be written to %s (%s)", lost,
                          output.health.target, output.health.reason or "out of time")
        self._outputs = []
        if self._owns_board:
            self.board.close()


def environment(fields: Mapping[str, Any]) -> dict[str, str]:
    """``{"event": "service-up", "source_group": "web"}`` -> ``CRG_EVENT``, ``CRG_SOURCE_GROUP``."""
    return {f"CRG_{k.upper()}": "" if v is None else str(v) for k, v in fields.items()
            if not isinstance(v, list | dict)}


async def deliver(sink: Sink, fields: Mapping[str, Any], values: Mapping[str, str],
                  supervisor: Supervisor) -> tuple[bool, str]:
    """Deliver one event to one sink; (delivered, what happened). Never raises: a sink
    that fails in a way nobody foresaw is a failed delivery, with its cause."""
    try:
        return await _deliver(sink, fields, values, supervisor)
    except Exception as exc:
        log.exception("delivering to a %s sink failed", sink.kind.value)
        return False, f"{type(exc).__name__}: {exc}"


async def _deliver(sink: Sink, fields: Mapping[str, Any], values: Mapping[str, str],
                   supervisor: Supervisor) -> tuple[bool, str]:
    if sink.kind is SinkKind.LOG:
        level = (logging.WARNING if fields.get("event") in ("alert", "blocked", "stranded")
                 else logging.INFO)
        log.log(level, "%s", describe(fields))
        return True, "logged"
    assert sink.target is not None
    target = substitute(sink.target, values)
    if sink.kind is SinkKind.COMMAND:
        argv = text_argv(sink.target, values)
        env = supervisor.environment(None, values, environment(fields))
        ran = await supervisor.run(argv, env=env, timeout_s=COMMAND_TIMEOUT_S,
                                   log_name="hooks")
        return ran.ok, (f"{argv[0]} exited 0" if ran.ok else ran.said(argv[0]))
    return await post(target, dict(fields))


async def post(url: str, body: dict[str, Any]) -> tuple[bool, str]:
    why = ""
    async with httpx.AsyncClient(trust_env=False, timeout=WEBHOOK_TIMEOUT_S) as client:
        for attempt in range(WEBHOOK_ATTEMPTS):
            if attempt:
                await asyncio.sleep(WEBHOOK_BACKOFF_S * 2 ** (attempt - 1))
            try:
                reply = await client.post(url, json=body)
            except httpx.HTTPError as exc:
                why = str(exc) or type(exc).__name__
                continue
            if reply.status_code < 300:
                return True, f"HTTP {reply.status_code}"
            why = f"HTTP {reply.status_code}"
            if reply.status_code < 500:
                break  # the receiver refuses this request: retrying will not help
    return False, f"webhook {url}: {why} after {attempt + 1} attempt(s)"


def describe(fields: Mapping[str, Any]) -> str:
    event = fields.get("event")
    if event in ("alert", "blocked", "stranded"):
        return f"{str(event).upper()} {fields.get('group')}: {fields.get('reason')}"
    if event in ("service-up", "service-down"):
        target = fields.get("group")
        source = fields.get("source_group", target)
        where = fields.get("source_node", fields.get("node"))
        text = f"{event} {source} on {where}"
        if fields.get("source_group"):
            text += f" (received by {target})"
        return text
    return json.dumps(dict(fields))
