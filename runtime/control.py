"""The control API: one JSON request and one JSON answer per connection, on a Unix socket
(mode 0600) in the run directory.

Requests: ``{"op": "status"}``, ``{"op": "switchover", "args": ["web", "n2"]}``, and
likewise ``offline``/``online`` (a group), ``drain``/``undrain``/``crash``/``join`` (a
node). Answers: ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.

Run directory: ``--run-dir``, else ``$XDG_RUNTIME_DIR/crg/<cluster>``, else
``/tmp/crg-<uid>/<cluster>`` (with ``.<node>`` appended for one node of several hosts).
One runtime at a time holds it (:func:`prepare`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("crg.runtime")

SOCKET = "control.sock"
LOCK = "lock"
MAX_REQUEST = 64 * 1024
CLIENT_TIMEOUT_S = 30.0


class ControlError(Exception):
    """The runtime cannot be reached or refused the request (exit code 2)."""


def base_dir() -> Path:
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "crg"
    return Path(f"/tmp/crg-{os.getuid()}")


def run_dir_for(cluster: str, node: str | None = None) -> Path:
    return base_dir() / (cluster if node is None else f"{cluster}.{node}")


@dataclass
class RunDir:
    """A run directory this runtime holds: an exclusive lock (``flock`` on ``lock``) for
    the runtime's whole life, so that a second runtime on the same directory fails at
    once, even when both start at the same instant. The kernel drops the lock when the
    process dies, however it dies; the descriptor is not inherited by the applications
    (``O_CLOEXEC``), or an orphan would keep a restarted runtime out."""

    path: Path
    socket: Path
    lock_fd: int

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


def prepare(run_dir: Path) -> RunDir:
    """Create the run directory (0700) and lock it, or fail with ControlError when another
    runtime holds it; a socket left by a runtime that died is removed (OSError: the
    directory cannot be made or the lock file opened)."""
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _lock_holder(fd)
        os.close(fd)
        raise ControlError(f"a crg runtime{holder} is already running with the run directory "
                           f"{run_dir}: stop it first, or give this one another --run-dir"
                           ) from None
    except OSError:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    path = run_dir / SOCKET
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # we hold the lock: whoever made this socket is gone
    return RunDir(run_dir, path, fd)


def _lock_holder(fd: int) -> str:
    """`` (pid N)`` of the runtime holding the lock, as it wrote it, if readable."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


Handler = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


async def serve(path: Path, handler: Handler,
                refused: tuple[type[Exception], ...]) -> asyncio.Server:
    """Answer requests with ``handler``; the exceptions in ``refused`` become
    ``{"ok": false, "error": ...}``."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                line = await reader.readline()
            try:
                request_data = json.loads(line[:MAX_REQUEST] or b"{}")
                if isinstance(request_data, dict):  # who asks, as the kernel says
                    request_data["peer"] = peer_of(writer)
                answer = {"ok": True, **await handler(request_data)}
            except refused as exc:
                answer = {"ok": False, "error": str(exc)}
            except (json.JSONDecodeError, AttributeError, TypeError) as exc:
                answer = {"ok": False, "error": f"bad request: {exc}"}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (OSError, TimeoutError):
            pass
        except Exception:  # never let one client take the runtime down
            log.exception("control request failed")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    old = os.umask(0o177)  # the socket is created 0600: no window where others could connect
    try:
        server = await asyncio.start_unix_server(client, path=str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return server


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
    """Send one request (blocking; the command-line client)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(json.dumps(payload).encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except FileNotFoundError:
        raise ControlError(f"no crg runtime is running here (no socket {path})") from None
    except ConnectionRefusedError:
        raise ControlError(f"no crg runtime is running here ({path} refuses "
                           "connections)") from None
    except TimeoutError:
        raise ControlError(f"the runtime did not answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise ControlError(f"cannot reach the runtime at {path}: {exc.strerror or exc}") from None
    try:
        answer: dict[str, Any] = json.loads(b"".join(chunks))
    except json.JSONDecodeError:
        raise ControlError("the runtime sent an answer that is not JSON") from None
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "the request failed")))
    return answer


def find_socket(run_dir: str | None, cluster: str | None) -> Path:
    """The socket to talk to: an explicit run directory, else the cluster's default one,
    else the only runtime running under the default base directory."""
    if run_dir is not None:
        return Path(run_dir) / SOCKET
    if cluster is not None:
        return run_dir_for(cluster) / SOCKET
    base = base_dir()
    found = sorted(base.glob(f"*/{SOCKET}")) if base.is_dir() else []
    if len(found) == 1:
        return found[0]
    if not found:
        raise ControlError(f"no crg runtime is running here (nothing under {base}); start "
                           "one with: crg run FILE")
    names = ", ".join(p.parent.name for p in found)
    raise ControlError(f"several crg runtimes are running here ({names}): choose one with "
                       "--cluster NAME or --run-dir DIR")
