"""Secrets in URLs never reach an output (README, "Secrets"): a webhook's credentials
and token are hidden in the events file, the log and the control socket's answers
(``crg status``); ``crg show`` is tested in tests/test_cli.py, the function itself in
tests/dsl/test_redact.py."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from runtime_helpers import SLEEPER, eventually, placement, run, running, two_nodes, written

from crg.runtime.control import ControlError, request, serve
from crg.runtime.logsink import LogSink
from crg.runtime.operator import CommandError

pytestmark = pytest.mark.timeout(60)

SECRETS = ("hunter2", "s3cr3t", "ops:")
WEBHOOK = "http://ops:hunter2@127.0.0.1:9/alert?token=s3cr3t"
"""Port 9 (discard): nobody listens on loopback, so the delivery fails and says where to."""

def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_a_failing_webhook_is_reported_without_its_secrets(tmp_path: Path) -> None:
    setup = two_nodes(tmp_path, SLEEPER, alert=f'alert webhook "{WEBHOOK}"')
    stream = io.StringIO()
    sink = LogSink(logging.StreamHandler(stream))
    logger = logging.getLogger("crg")
    logger.addHandler(sink)

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                             20, "job up on n1")
            await cluster.crash("n1")  # job on n2, the last node of its list: an alert
            # (n1's loss is paged to the same webhook, and fails too: waited for is the
            # last-node alert's failure, which the log line below is about)
            await eventually(lambda: any(r["event"] == "alert-failed" and r["alert"] == "alert"
                                         for r in cluster.services.events.records), 30,
                             "the webhook alert failed")
            failed = [r for r in written(cluster) if r["event"] == "alert-failed"]
            assert failed and "http://***@127.0.0.1:9/alert?***" in failed[0]["detail"]
            status = await cluster.status()
            assert leaks(str(status)) == []

    try:
        run(body())
        assert sink.drain(5)
    finally:
        logger.removeHandler(sink)
        sink.close()
    assert leaks(setup.events.read_text()) == []
    log = stream.getvalue()
    assert "alert of job not delivered: webhook http://***@127.0.0.1:9/alert?***" in log
    assert leaks(log) == []


def test_control_answers_hide_secrets(tmp_path: Path) -> None:
    """Whatever a handler answers — a message, an error — leaves without secrets."""
    path = tmp_path / "control.sock"

    async def handler(request_data: Mapping[str, Any]) -> dict[str, Any]:
        if request_data.get("op") == "fail":
            raise CommandError(f"cannot reach {WEBHOOK}")
        return {"message": f"posted to {WEBHOOK}"}

    async def body() -> None:
        server = await serve(path, handler, (CommandError,))
        try:
            answer = await asyncio.to_thread(request, path, {"op": "status"})
            assert answer["message"] == "posted to http://***@127.0.0.1:9/alert?***"
            with pytest.raises(ControlError) as refused:
                await asyncio.to_thread(request, path, {"op": "fail"})
            assert str(refused.value) == "cannot reach http://***@127.0.0.1:9/alert?***"
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(body())
