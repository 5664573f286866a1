"""The control socket's server against clients that send what no crg client sends: each
gets a clear ``bad request`` answer, the log gets no traceback, and the server goes on
answering (README, "Operating a cluster")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from cli_run import Run
from runtime_helpers import run

from crg import files
from crg.runtime.control import MAX_REQUEST, ControlError, Unanswered, request, serve
from crg.runtime.launch import answering
from crg.runtime.operator import CommandError


async def ask(path: Path, data: bytes) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(data)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
        # A server that answers before reading everything resets what is left.
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    answer: dict[str, Any] = json.loads(line)
    return answer


async def status(request: Mapping[str, Any]) -> dict[str, Any]:
    if request.get("op") != "status":
        raise LookupError(f"unknown request {request.get('op')!r}")
    return {"status": "fine"}


@pytest.mark.parametrize(("data", "error"), [
    (b"garbage\n", "bad request: Expecting value: line 1 column 1 (char 0)"),
    (b"\xff\xfe\n", "bad request: not UTF-8"),
    (b'{"op": "st\xe9tus"}\n', "bad request: not UTF-8"),
    (b"[1, 2]\n", "bad request: a request is a JSON object, not a list ([1, 2])"),
    (b"x" * (MAX_REQUEST + 10) + b"\n", f"bad request: longer than {MAX_REQUEST} bytes"),
    (b'{"op": "other"}\n', "unknown request 'other'"),
    # The handlers would read these as what they are not: a string as its characters
    # (switchover takes 2 arguments, not 6), any non-empty string as true.
    (b'{"op": "switchover", "args": "web n2"}\n',
     'bad request: "args" must be a list of strings, one per argument (["web", "n2"]), '
     'not a string ("web n2")'),
    (b'{"op": "switchover", "args": ["web", 2]}\n',
     'bad request: "args" must be a list of strings, one per argument (["web", "n2"]), '
     'not a list (["web", 2])'),
    (b'{"op": "offline", "args": ["web"], "wait": "no"}\n',
     'bad request: "wait" must be true or false, not a string ("no")'),
    (b'{"op": "maintenance on", "all": 1}\n',
     'bad request: "all" must be true or false, not a number (1)'),
    (b'{"op": "offline", "args": ["web"], "timeout": "5s"}\n',
     'bad request: "timeout" must be a number of seconds, not a string ("5s")'),
    (b'{"op": ["status"]}\n', 'bad request: "op" must be a string (the request\'s name), '
     'not a list (["status"])'),
    (b"[" * 30000 + b"]" * 30000 + b"\n", "bad request: nested too deeply"),
    (b'{"op": "offline", "args": ["web"], "deadline": "soon"}\n',
     'bad request: "deadline" must be a time in seconds since the epoch, not a string '
     '("soon")'),
    (b'{"op": "offline", "args": ["web"], "deadline": NaN}\n',
     'bad request: "deadline" must be a time in seconds since the epoch, not a number (NaN)'),
    (b'{"op": "offline", "args": ["' + b"w" * 60000 + b'"]}\n',
     "bad request: an argument of 60000 characters is no group or node name (at most 256)"),
], ids=["not-json", "utf-16", "latin-1", "a-list", "too-long", "unknown-op", "args-string",
        "args-number", "wait-string", "all-number", "timeout-string", "op-list", "nested",
        "deadline-string", "deadline-nan", "argument-60k"])
def test_a_bad_request_gets_a_clear_answer_and_no_traceback(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, data: bytes, error: str) -> None:
    path = tmp_path / "control.sock"

    async def body() -> None:
        server = await serve(path, status, (LookupError,))
        try:
            assert await ask(path, data) == {"ok": False, "error": error}
            # The server is still there for the next client.
            assert await ask(path, b'{"op": "status"}\n') == {"ok": True, "status": "fine"}
        finally:
            server.close()
            await server.wait_closed()

    with caplog.at_level(logging.DEBUG, logger="crg.runtime"):
        run(body())
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.mark.parametrize("reads", [False, True], ids=["request-unread", "request-read"])
@pytest.mark.parametrize("sends", [b"", b'{"ok": tr'], ids=["nothing", "half-an-answer"])
def test_a_runtime_that_goes_away_before_answering_is_said_so(
        tmp_path: Path, reads: bool, sends: bytes) -> None:
    # Killed before it read the request (the connection is reset), after it (closed), or
    # halfway through its answer: each time the runtime stopped, not "answered in bad JSON".
    path = tmp_path / "control.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen()

        def runtime() -> None:
            connection, _ = listener.accept()
            with connection:
                if reads:
                    connection.recv(MAX_REQUEST)
                else:  # wait for the request without taking it: closing then resets
                    select.select([connection], [], [], 10)
                connection.sendall(sends)

        server = threading.Thread(target=runtime)
        server.start()
        try:
            with pytest.raises(Unanswered, match=f"^the runtime at {path} closed the "
                               "connection before it answered: it stopped or was killed"):
                request(path, {"op": "status"}, timeout_s=10)
        finally:
            server.join(10)


def test_a_request_read_after_its_client_gave_up_is_not_acted_on(tmp_path: Path) -> None:
    # A runtime stalled (SIGSTOP) while `crg switchover` waited: the client said "did not
    # answer within 75 s" (exit 2), and the runtime, resumed, read the request from its
    # socket and moved the group all the same.
    path = tmp_path / "control.sock"
    taken: list[Mapping[str, Any]] = []

    async def handler(request: Mapping[str, Any]) -> dict[str, Any]:
        taken.append(request)
        return {"message": "done"}

    async def body() -> None:
        server = await serve(path, handler, (LookupError,))
        try:
            late = json.dumps({"op": "switchover", "deadline": time.time() - 1})
            answer = await ask(path, late.encode() + b"\n")
            assert answer["ok"] is False and "nothing was done" in answer["error"]
            assert taken == []
            timely = json.dumps({"op": "switchover", "deadline": time.time() + 60})
            assert (await ask(path, timely.encode() + b"\n"))["ok"] is True
            assert [r["op"] for r in taken] == ["switchover"]
            assert "deadline" not in taken[0]
        finally:
            server.close()
            await server.wait_closed()

    run(body())


def test_a_command_unanswered_in_time_may_still_take_effect_and_the_client_says_so(
        tmp_path: Path) -> None:
    # A runtime that read the command in time but answers late still takes it: the
    # operator must not read the silence as a refusal. A status changes nothing.
    path = tmp_path / "control.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(2)
        for op, warned in (("switchover", True), ("status", False)):
            with pytest.raises(ControlError) as raised:
                request(path, {"op": op}, timeout_s=0.2)  # nobody answers
            assert "did not answer within 0.2 s" in str(raised.value)
            assert ("may still take effect: see crg status" in str(raised.value)) is warned
            listener.accept()[0].close()


def test_the_client_tells_the_runtime_when_it_gives_up(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    heard: list[bytes] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen()

        def runtime() -> None:
            connection, _ = listener.accept()
            with connection:
                heard.append(connection.recv(MAX_REQUEST))
                connection.sendall(b'{"ok": true}\n')

        server = threading.Thread(target=runtime)
        server.start()
        try:
            before = time.time()
            request(path, {"op": "status"}, timeout_s=10)
        finally:
            server.join(10)
    sent = json.loads(heard[0])
    assert before + 10 <= sent["deadline"] <= time.time() + 10


class _Runtime:
    """What :func:`crg.runtime.launch.answering` needs of a runtime: its configuration's
    name and the commands it was given."""

    def __init__(self) -> None:
        self.config = files.load(str(Path(__file__).resolve().parents[2] / "examples"
                                     / "quickstart.crg"))
        self.done: list[Mapping[str, Any]] = []

    async def command(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self.done.append(request)
        return {"message": "done", "result": "done"}


@contextlib.contextmanager
def _serving(run_dir: Path, runtime: _Runtime) -> Iterator[None]:
    """``runtime`` answering on ``run_dir``'s control socket, on a thread of its own."""
    started, stop = threading.Event(), threading.Event()

    def serving() -> None:
        async def body() -> None:
            server = await serve(run_dir / "control.sock", answering(cast(Any, runtime)),
                                 (CommandError,))
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.01)
            server.close()
            await server.wait_closed()

        run(body())

    thread = threading.Thread(target=serving)
    thread.start()
    try:
        assert started.wait(10)
        yield
    finally:
        stop.set()
        thread.join(10)


def test_under_the_default_base_only_what_the_user_made_is_talked_to(
        tmp_path: Path, crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    """A security tester's findings: another user who made the base first put there
    ``shop``, a link to another of root's runtimes, which answered root's ``crg status
    --cluster shop``; and runtimes named with terminal escape sequences were printed
    raw."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    base = tmp_path / "crg"
    base.mkdir(mode=0o700)
    quickstart = base / "quickstart"
    quickstart.mkdir(mode=0o700)
    (base / "shop").symlink_to(quickstart)
    runtime = _Runtime()
    with _serving(quickstart, runtime):
        linked = crg("drain", "--no-wait", "--cluster", "shop", "n3")
        assert linked.code == 2
        assert (f"the run directory {base / 'shop'} is a symbolic link: crg does not follow "
                "links for it: crg talks to no runtime found there") in linked.err
        (base / "shop").unlink()
        (base / "shop").mkdir(mode=0o700)
        # the same socket by another name (a hard link; a symbolic one is refused)
        (base / "shop" / "control.sock").hardlink_to(quickstart / "control.sock")
        other = crg("drain", "--no-wait", "--cluster", "shop", "n3")
        assert other.code == 2  # the socket's runtime runs another cluster
        assert "runs cluster 'quickstart', not 'shop'" in other.err
        assert runtime.done == []
        base.chmod(0o777)
        opened = crg("status")
        assert opened.code == 2
        assert f"the base of the run directories {base} is writable by others" in opened.err
    base.chmod(0o700)
    for name in ("a\x1b]0;PWNED\x07", "b"):
        (base / name).mkdir(mode=0o700)
        (base / name / "control.sock").touch()
    shown = crg("status")
    assert shown.code == 2 and "\x1b" not in shown.err
    assert "a\\x1b]0;PWNED\\x07" in shown.err, shown.err


@pytest.mark.parametrize("cluster", ["other", "quickstart", None])
def test_a_command_for_another_cluster_than_the_run_dirs_is_not_done(
        tmp_path: Path, crg: Callable[..., Run], cluster: str | None) -> None:
    """``crg drain n3 --run-dir /run/crg/staging --cluster prod``: the run directory
    chooses the runtime and --cluster was not looked at, so the staging cluster drained
    n3 for a command meant for prod."""
    runtime = _Runtime()
    with _serving(tmp_path, runtime):
        where = ["--run-dir", str(tmp_path)] + (["--cluster", cluster] if cluster else [])
        result = crg("drain", "--no-wait", *where, "n3")
    if cluster == "other":
        assert result.code == 2
        assert ("the runtime at this run directory runs cluster 'quickstart', not 'other': "
                "the run directory and --cluster name different runtimes; nothing was done"
                ) in result.err
        assert runtime.done == []
    else:
        assert result.code == 0, result.err
        assert [r["op"] for r in runtime.done] == ["drain"]
