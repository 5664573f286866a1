"""Event sinks: a command gets the event in CRG_* variables, a webhook gets it as JSON
(retried after a server error, not after a refusal), a log sink logs it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from crg.dsl.model import Sink, SinkKind
from crg.runtime.drivers.process import Supervisor
from crg.runtime.drivers.sinks import deliver

FIELDS = {"event": "service-up", "cluster": "c", "group": "api", "node": "n2",
          "source_group": "web", "source_node": "n1", "vip": "127.0.0.11", "seq": 3}
VALUES = {"vip": "127.0.0.12", "prefix": "8", "dev": "", "node": "n2", "group": "api",
          "cluster": "c"}


class Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[Any]] = []
    statuses: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        status = type(self).statuses.pop(0) if type(self).statuses else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.bodies, Receiver.statuses = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook/{{group}}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_command_sink_gets_the_event_in_its_environment(tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    sink = Sink(SinkKind.COMMAND,
                f"sh -c 'env | grep ^CRG_ | sort > {out}; echo {{group}} >> {out}'")
    supervisor = Supervisor("c", "n2", tmp_path / "logs")
    ok, detail = asyncio.run(deliver(sink, FIELDS, VALUES, supervisor))
    assert ok, detail
    lines = out.read_text().splitlines()
    for expected in ("CRG_EVENT=service-up", "CRG_GROUP=api", "CRG_NODE=n2",
                     "CRG_SOURCE_GROUP=web", "CRG_SOURCE_NODE=n1", "CRG_VIP=127.0.0.11",
                     "CRG_SEQ=3", "CRG_CLUSTER=c"):
        assert expected in lines
    assert lines[-1] == "api"  # placeholders are the receiving group's
    failing = Sink(SinkKind.COMMAND, "sh -c 'exit 3'")
    assert asyncio.run(deliver(failing, FIELDS, VALUES, supervisor)) == (
        False, "sh exited with status 3")
    # An outside tester's finding: one that could not start at all was said to have
    # "not finished within 10 s or could not start", at once, the cause only in a log.
    script = tmp_path / "page.sh"
    script.write_text("#!/bin/sh\nexit 0\n")  # not executable
    assert asyncio.run(deliver(Sink(SinkKind.COMMAND, str(script)), FIELDS, VALUES,
                               supervisor)) == (
        False, f"{script} could not start: Permission denied")
    assert asyncio.run(deliver(Sink(SinkKind.COMMAND, f"{tmp_path}/nowhere"), FIELDS, VALUES,
                               supervisor)) == (
        False, f"{tmp_path}/nowhere could not start: No such file or directory")


def test_a_webhook_gets_json_and_is_retried_after_a_server_error(receiver: str) -> None:
    Receiver.statuses = [503, 200]
    ok, detail = asyncio.run(deliver(Sink(SinkKind.WEBHOOK, receiver), FIELDS, VALUES,
                                     Supervisor("c", "n2", Path("/tmp"))))
    assert ok and detail == "HTTP 200"
    assert Receiver.bodies == [FIELDS, FIELDS]


def test_a_webhook_refusal_is_not_retried(receiver: str) -> None:
    Receiver.statuses = [403]
    ok, detail = asyncio.run(deliver(Sink(SinkKind.WEBHOOK, receiver), FIELDS, VALUES,
                                     Supervisor("c", "n2", Path("/tmp"))))
    assert not ok and "HTTP 403" in detail
    assert len(Receiver.bodies) == 1


def test_a_log_sink_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="crg.runtime"):
        ok, _ = asyncio.run(deliver(Sink(SinkKind.LOG, None), FIELDS, VALUES,
                                    Supervisor("c", "n2", Path("/tmp"))))
    assert ok and "service-up web on n1 (received by api)" in caplog.text
