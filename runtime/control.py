"""The control API: one JSON request and one JSON answer per connection, on a Unix socket
(mode 0600) in the run directory.

Requests: ``{"op": "status"}``, ``{"op": "switchover", "args": ["web", "n2"]}``, and
likewise ``offline``/``online`` (a group), ``drain``/``undrain``/``crash``/``join`` (a
node). Answers: ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.

Run directory: ``--run-dir``, else ``$XDG_RUNTIME_DIR/crg/<cluster>``, else
``/tmp/crg-<uid>/<cluster>`` (with ``.<node>`` appended for one node of several hosts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("crg.runtime")

SOCKET = "control.sock"
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


def prepare(run_dir: Path) -> Path:
    """Create the run directory (0700) and make sure no runtime already uses it; returns
    the socket path."""
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = run_dir / SOCKET
    if path.exists():
        try:
            request(path, {"op": "status"}, timeout_s=2.0)
        except ControlError:
            path.unlink()  # left by a runtime that did not exit cleanly
        else:
            raise ControlError(f"a crg runtime is already running with the run directory "
                               f"{run_dir}")
    return path


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
