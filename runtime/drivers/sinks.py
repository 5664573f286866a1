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
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import httpx

from crg.dsl.model import Sink, SinkKind
from crg.dsl.templates import substitute
from crg.runtime.drivers.process import Supervisor, text_argv

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
    (``--json``). Lines are flushed one by one, so a reader can follow the file."""

    def __init__(self, path: Path | None = None, stdout: bool = False) -> None:
        self._file: IO[str] | None = (open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
                                      if path is not None else None)
        self._stdout = stdout
        self.records: list[dict[str, Any]] = []
        """Kept in memory too, for ``crg status`` and the tests (bounded)."""

    def emit(self, record: Mapping[str, Any]) -> None:
        data = {"time": iso_time(), **record}
        line = json.dumps(data, ensure_ascii=False, sort_keys=False)
        if self._file is not None:
            self._file.write(line + "\n")
        if self._stdout:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.records.append(data)
        if len(self.records) > 2000:
            del self.records[:1000]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def environment(fields: Mapping[str, Any]) -> dict[str, str]:
    """``{"event": "service-up", "source_group": "web"}`` -> ``CRG_EVENT``, ``CRG_SOURCE_GROUP``."""
    return {f"CRG_{k.upper()}": "" if v is None else str(v) for k, v in fields.items()
            if not isinstance(v, list | dict)}


async def deliver(sink: Sink, fields: Mapping[str, Any], values: Mapping[str, str],
                  supervisor: Supervisor) -> tuple[bool, str]:
    """Deliver one event to one sink; (delivered, what happened)."""
    if sink.kind is SinkKind.LOG:
        level = (logging.WARNING if fields.get("event") in ("alert", "blocked")
                 else logging.INFO)
        log.log(level, "%s", describe(fields))
        return True, "logged"
    assert sink.target is not None
    target = substitute(sink.target, values)
    if sink.kind is SinkKind.COMMAND:
        argv = text_argv(sink.target, values)
        env = supervisor.environment(None, values, environment(fields))
        code = await supervisor.run(argv, env=env, timeout_s=COMMAND_TIMEOUT_S,
                                    log_name="hooks")
        if code == 0:
            return True, f"{argv[0]} exited 0"
        return False, (f"{argv[0]} did not finish within {COMMAND_TIMEOUT_S:g} s or could "
                       "not start" if code is None else f"{argv[0]} exited with status {code}")
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
    if event in ("alert", "blocked"):
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
