"""The control API: one JSON request and one JSON answer per connection, on a Unix socket
(mode 0600) in the run directory (:mod:`crg.runtime.rundir`).

Requests: ``{"op": "status"}``, ``{"op": "switchover", "args": ["web", "n2"]}``, and
likewise ``offline``/``online`` (a group), ``drain``/``undrain``/``crash``/``join`` (a
node). Answers: ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``, with every
URL's secrets hidden (:func:`crg.dsl.redact.redact_data`).

The client trusts a socket only if it is the user's own: before connecting, the socket
file must belong to the user (``lstat``); once connected, the process answering must run
as the user (``SO_PEERCRED``). Another user's socket — one planted in a run directory
made by someone else — gets no command: :class:`ForeignSocket` says whose it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from crg.dsl.redact import redact_data
from crg.runtime.linefile import user_name
from crg.runtime.rundir import SOCKET, base_dir, kind_of, not_private, run_dir_for

log = logging.getLogger("crg.runtime")

MAX_REQUEST = 64 * 1024
CLIENT_TIMEOUT_S = 30.0
READ_ONLY_OPS = frozenset({"status", "state"})
"""Requests that change nothing: a late answer to them needs no warning."""


class ControlError(Exception):
    """The runtime cannot be reached or refused the request (exit code 2)."""


class NoRuntime(ControlError):
    """No runtime is running there: no socket, or nobody listening on it (``crg status
    --watch`` stops watching; a slow answer is another ControlError, worth waiting out)."""


class Unanswered(ControlError):
    """The runtime closed the connection before its answer was whole: it stopped or was
    killed while the request was with it, so whether a command was taken is not known."""


Handler = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


class BadRequest(ValueError):
    """A request that is not one JSON value in UTF-8."""


MAX_ARGUMENT = 256
"""The longest argument a request may give (group and node names are far shorter)."""


def parse_request(line: bytes) -> Any:
    """The JSON value of one request line (an empty line: ``{}``, no request)."""
    try:
        return json.loads((line or b"{}").decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(str(exc)) from None
    except RecursionError:  # "[[[[...]]]]": no request of crg's nests
        raise BadRequest("nested too deeply") from None


def check_request(data: Any) -> None:
    """BadRequest unless the fields the runtime reads have the types it reads them as. The
    handlers read leniently (``str(op)``, ``bool(wait)``, a tuple of ``args``), which would
    take ``"args": "web n2"`` for six arguments and ``"wait": "no"`` for true."""
    if not isinstance(data, dict):
        raise BadRequest(f"a request is a JSON object, not {_json_kind(data)}")
    if "op" in data and not isinstance(data["op"], str):
        raise BadRequest(f'"op" must be a string (the request\'s name), not '
                         f"{_json_kind(data['op'])}")
    if "args" in data and not (isinstance(data["args"], list)
                               and all(isinstance(a, str) for a in data["args"])):
        raise BadRequest('"args" must be a list of strings, one per argument (["web", "n2"]), '
                         f"not {_json_kind(data['args'])}")
    if "cluster" in data and not isinstance(data["cluster"], str):
        raise BadRequest(f'"cluster" must be a string, not {_json_kind(data["cluster"])}')
    for flag in ("wait", "all"):
        if flag in data and not isinstance(data[flag], bool):
            raise BadRequest(f'"{flag}" must be true or false, not {_json_kind(data[flag])}')
    for field, what in (("timeout", "a number of seconds"),
                        ("deadline", "a time in seconds since the epoch")):
        value = data.get(field)
        if field in data and (isinstance(value, bool) or not isinstance(value, int | float)
                              or value != value):  # NaN
            raise BadRequest(f'"{field}" must be {what}, not {_json_kind(value)}')
    long = next((a for a in data.get("args", ()) if len(a) > MAX_ARGUMENT), None)
    if long is not None:
        # No name of a configuration is that long; echoing it back would be the answer.
        raise BadRequest(f"an argument of {len(long)} characters is no group or node name "
                         f"(at most {MAX_ARGUMENT})")


def _json_kind(value: Any) -> str:
    """``value`` as the message of a bad request names it: its JSON type and a short
    rendering of it."""
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object", type(None): "null"}
    shown = json.dumps(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kinds.get(type(value), type(value).__name__)} ({shown})"


async def serve(path: Path, handler: Handler,
                refused: tuple[type[Exception], ...]) -> asyncio.Server:
    """Answer requests with ``handler``; the exceptions in ``refused`` become
    ``{"ok": false, "error": ...}``."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            answer = await respond(reader, writer)
            writer.write(json.dumps(redact_data(answer)).encode() + b"\n")
            await writer.drain()
        except (OSError, TimeoutError):
            pass
        except Exception:  # never let one client take the runtime down
            log.exception("control request failed")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def respond(reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> dict[str, Any]:
        try:
            async with asyncio.timeout(10):
                line = await reader.readline()
        except ValueError:  # longer than the stream's limit
            return {"ok": False, "error": f"bad request: longer than {MAX_REQUEST} bytes"}
        watcher: asyncio.Task[None] | None = None
        try:
            request_data = parse_request(line)
            check_request(request_data)
            if isinstance(request_data, dict) and _expired(request_data.pop("deadline", None)):
                # Read after its client gave up (this runtime was stalled, SIGSTOP): the
                # client said "did not answer" (exit 2), so taking the command now would
                # move groups behind an operator told it failed.
                log.warning("control request %s dropped: its client gave up waiting for "
                            "this runtime before it was read", request_data.get("op"))
                return {"ok": False, "error": "the client gave up waiting before the "
                        "runtime read its request: nothing was done"}
            if isinstance(request_data, dict):  # who asks, as the kernel says
                gone = asyncio.Event()
                watcher = asyncio.create_task(_until_closed(reader, gone))
                request_data["peer"] = {**(peer_of(writer) or {}), "gone": gone}
            return {"ok": True, **await handler(request_data)}
        except refused as exc:
            return {"ok": False, "error": str(exc)}
        except (BadRequest, AttributeError, TypeError) as exc:  # the last two: a handler's
            # reading of a request that check_request let through
            return {"ok": False, "error": f"bad request: {exc}"}
        finally:
            if watcher is not None:
                watcher.cancel()

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Made 0600 by the umask as it is bound: no window where others could connect, and no
    # chmod by path afterwards (it would follow a link planted in its place). The umask
    # is the process's: for these microseconds the other threads only write files made
    # with an explicit 0600 (outputs) — directories and processes come from this loop.
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    except OSError:
        listener.close()
        raise
    finally:
        os.umask(old)
    return await asyncio.start_unix_server(client, sock=listener, limit=MAX_REQUEST)


def _expired(deadline: float | None) -> bool:
    """Whether a client's deadline (seconds since the epoch, a number as check_request
    saw to; none from an older client) has passed."""
    return deadline is not None and time.time() > deadline


async def _until_closed(reader: asyncio.StreamReader, gone: asyncio.Event) -> None:
    """Set ``gone`` when the client closes its end: a client sends its one request and
    waits for the answer, so its end closes early only when it went away (Ctrl-C, killed)
    — and a command still waiting to be taken must then not be taken for it."""
    with contextlib.suppress(OSError, ValueError):
        while await reader.read(4096):
            pass  # nothing more is expected: whatever comes is dropped
    gone.set()


class ForeignSocket(ControlError):
    """The socket, or the process behind it, is another user's: nothing was sent."""


def check_socket_file(path: Path) -> None:
    """Before connecting: ``path`` must be a socket that belongs to this user (not
    followed if it is a link). FileNotFoundError when there is none."""
    info = os.lstat(path)
    me = os.geteuid()
    if not stat.S_ISSOCK(info.st_mode):
        raise ForeignSocket(f"{path} is not a socket (it is {kind_of(info.st_mode)}): no crg "
                            "runtime made it; nothing was sent")
    if info.st_uid != me:
        raise ForeignSocket(
            f"the control socket {path} belongs to {user_name(info.st_uid)}, not to "
            f"{user_name(me)}: it is not your runtime's (another user may have planted it), "
            f"so nothing was sent; if {user_name(info.st_uid)} runs the runtime, run the "
            f"command as that user")


def check_peer(sock: socket.socket, path: Path) -> None:
    """Once connected: the process that answers must run as this user (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _ = struct.unpack("3i", creds)
    if uid != os.geteuid():
        raise ForeignSocket(
            f"the process answering on {path} (pid {pid}) runs as {user_name(uid)}, not as "
            f"{user_name(os.geteuid())}: it is not your runtime, so nothing was sent")


def peer_of(writer: asyncio.StreamWriter) -> dict[str, int] | None:
    """The pid and uid of the process at the other end of a control connection
    (``SO_PEERCRED``: what the kernel recorded when it connected, not what it says)."""
    sock = writer.get_extra_info("socket")
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (AttributeError, OSError):
        return None
    pid, uid, gid = struct.unpack("3i", creds)
    return {"pid": pid, "uid": uid, "gid": gid}


def request(path: Path, payload: Mapping[str, Any],
            timeout_s: float = CLIENT_TIMEOUT_S) -> dict[str, Any]:
    """Send one request (blocking; the command-line client), to the user's own runtime
    only (:func:`check_socket_file`, :func:`check_peer`)."""
    try:
        check_socket_file(path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            check_peer(sock, path)
            # When it gives up waiting: a runtime that reads the request later (it was
            # stalled) must not act on it (see serve).
            sent = {**payload, "deadline": time.time() + timeout_s}
            sock.sendall(json.dumps(sent).encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except FileNotFoundError:
        raise NoRuntime(f"no crg runtime is running here (no socket {path})") from None
    except ConnectionRefusedError:
        raise NoRuntime(f"no crg runtime is running here ({path} refuses "
                           "connections)") from None
    except TimeoutError:
        said = f"the runtime did not answer within {timeout_s:g} s"
        if payload.get("op") not in READ_ONLY_OPS:
            # Read in time but answered late, a command still takes effect (one read
            # after the deadline does not, see serve): the operator must not take the
            # silence for a refusal.
            said += ("; if it read the command in time, the command may still take "
                     "effect: see crg status")
        raise ControlError(said) from None
    except (ConnectionResetError, BrokenPipeError):
        # A runtime killed before it read the request resets the connection.
        raise Unanswered(_unanswered(path)) from None
    except OSError as exc:
        raise ControlError(f"cannot reach the runtime at {path}: {exc.strerror or exc}") from None
    data = b"".join(chunks)
    if not data.endswith(b"\n"):  # every answer ends with one: this one was cut short
        raise Unanswered(_unanswered(path))
    try:
        answer: dict[str, Any] = json.loads(data)
    except json.JSONDecodeError:
        raise ControlError("the runtime sent an answer that is not JSON") from None
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "the request failed")))
    return answer


def _unanswered(path: Path) -> str:
    return (f"the runtime at {path} closed the connection before it answered: it stopped "
            "or was killed meanwhile")


OWN_RUN_DIR = "one started with --run-dir DIR is found with the same --run-dir DIR"
"""Said wherever no runtime is found under the default base: one given its own run
directory is never looked for (it may be anywhere), and that is easily forgotten."""


def find_socket(run_dir: str | None, cluster: str | None) -> Path:
    """The socket to talk to: an explicit run directory, else the cluster's default one,
    else the only runtime running under the default base directory."""
    if run_dir is not None:
        return Path(run_dir) / SOCKET
    # Under the default base, only what the user made is looked at: another user who
    # made the base first could have put there a link to another of this user's
    # runtimes, or names that are terminal escape sequences (crg run refuses such a base).
    base = base_dir()
    _trusted(base, "the base of the run directories")
    if cluster is not None:
        _trusted(run_dir_for(cluster), "the run directory")
        return run_dir_for(cluster) / SOCKET
    found = sorted(base.glob(f"*/{SOCKET}")) if base.is_dir() else []
    for socket_path in found:
        _trusted(socket_path.parent, "the run directory")
    if len(found) == 1:
        return found[0]
    if not found:
        raise NoRuntime(f"no crg runtime is running here (no control socket under {base}; "
                        f"{OWN_RUN_DIR}); start one with: crg run FILE")
    names = ", ".join(printable(p.parent.name) for p in found)
    raise ControlError(f"several crg runtimes are running here ({names}): choose one with "
                       "--cluster NAME or --run-dir DIR")


def _trusted(path: Path, what: str) -> None:
    why = not_private(path, what)
    if why is not None:
        raise ControlError(f"{printable(why)}: crg talks to no runtime found there (another "
                           "user may have made it); remove it, or give --run-dir DIR")


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes: a name read from the disk may
    be anything, a terminal's escape sequence too."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
