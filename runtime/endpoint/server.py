"""A tiny HTTP/1.1 server on asyncio streams, for the agent's read-only endpoint.

It serves what a load balancer's health check, a Kubernetes probe and a Prometheus
scrape send: one ``GET`` (or ``HEAD``) per connection, answered with a complete body and
``Connection: close``. That is all the endpoint needs, so it is written here on the
standard library instead of taking a web framework as a dependency (README, dependency
table). It runs on the agent's own event loop: an agent whose loop stalls stops
answering, which is what a health check should see.

Limits, so that nobody can hold the agent's loop with a slow or huge request: the
request line and headers together at most :data:`MAX_HEAD` bytes, read within
:data:`READ_TIMEOUT_S`; a body is never read (none of the routes takes one); at most
:data:`MAX_CLIENTS` connections at once — beyond, a connection is answered 503 at once
and closed, so a flood of idle connections cannot take the descriptors the agent needs
to start applications and talk to the store — and at most :data:`MAX_PER_PEER` from one
address (429 beyond), so that one client cannot take them all from the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

log = logging.getLogger("crg.runtime")

MAX_HEAD = 16 * 1024
READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 5.0
OVERFLOW_READ_S = 0.2
"""How long a connection beyond MAX_CLIENTS may take to send its request before its 503."""
MAX_CLIENTS = 64
"""Connections served at once: scrapes and health checks come a few at a time, and each
idle one holds a descriptor for up to READ_TIMEOUT_S."""
MAX_PER_PEER = 16
"""Connections served at once from one address: a client that opens more (a flood of
idle connections) is answered 429 beyond them, and cannot take every slot from the load
balancers and scrapers that come from other addresses (it made their checks fail with
503, so that a load balancer pulled a healthy node)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = field(default=())


Handler = Callable[[str], Awaitable[Response]]
"""Called with the request's path (percent-decoded, query removed)."""


class HttpAddressError(ValueError):
    """``--http`` is not ``HOST:PORT``."""


def parse_address(text: str) -> tuple[str, int]:
    """``127.0.0.1:9100``, ``[::1]:9100``, ``0.0.0.0:9100`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    # ASCII digits only: str.isdigit() also takes '²' (which int() refuses) and '٣' (which
    # int() reads as 3, a port nobody meant).
    if not sep or not host or not (port.isascii() and port.isdigit()):
        raise HttpAddressError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9100, "
                               "[::1]:9100, 0.0.0.0:9100)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise HttpAddressError(f"{text!r}: write an IPv6 address in brackets, "
                               "e.g. [::1]:9100")
    number = int(port)
    if number > 65535:
        raise HttpAddressError(f"{text!r}: port {number} is out of range (0-65535)")
    return host, number


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve(host: str, port: int, handler: Handler) -> asyncio.Server:
    """Listen on ``host:port`` (OSError when that is impossible) and answer each request
    with ``handler``; anything it raises is a 500 and a log line, never a dead server."""

    active = 0
    by_peer: Counter[str] = Counter()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active
        peername = writer.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) and peername else "?"
        active += 1
        by_peer[peer] += 1
        try:
            if active > MAX_CLIENTS or by_peer[peer] > MAX_PER_PEER:
                # Answered at once, its descriptor freed within OVERFLOW_READ_S: the request
                # already sent is read first (bounded), since closing a socket with unread
                # data resets the connection and the client would never see the 503.
                with contextlib.suppress(OSError, TimeoutError, asyncio.IncompleteReadError,
                                         asyncio.LimitOverrunError):
                    async with asyncio.timeout(OVERFLOW_READ_S):
                        await reader.readuntil(b"\r\n\r\n")
                status = (HTTPStatus.TOO_MANY_REQUESTS if by_peer[peer] > MAX_PER_PEER
                          else HTTPStatus.SERVICE_UNAVAILABLE)
                response, head_only = _plain(status, (("Retry-After", "1"),)), False
            else:
                response, head_only = await _answer(reader, handler)
            writer.write(_encode(response, head_only))
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await writer.drain()
        except (OSError, TimeoutError):
            pass
        finally:
            active -= 1
            by_peer[peer] -= 1
            if not by_peer[peer]:
                del by_peer[peer]
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    return await asyncio.start_server(client, host, port, limit=MAX_HEAD)


def bound_port(server: asyncio.Server) -> int:
    """The port ``server`` listens on (the one the kernel chose for port 0)."""
    return int(server.sockets[0].getsockname()[1])


async def _answer(reader: asyncio.StreamReader, handler: Handler) -> tuple[Response, bool]:
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        return _plain(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE), False
    except (asyncio.IncompleteReadError, TimeoutError):
        return _plain(HTTPStatus.BAD_REQUEST), False
    if len(head) > MAX_HEAD:
        return _plain(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE), False
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return _plain(HTTPStatus.BAD_REQUEST), False
    method, target, _ = parts
    if method not in ("GET", "HEAD"):
        allow = (("Allow", "GET, HEAD"),)
        return _plain(HTTPStatus.METHOD_NOT_ALLOWED, allow), False
    path = unquote(urlsplit(target).path)
    try:
        return await handler(path), method == "HEAD"
    except Exception:
        log.exception("the HTTP endpoint failed to answer GET %s", path)
        return _plain(HTTPStatus.INTERNAL_SERVER_ERROR), method == "HEAD"


def _plain(status: HTTPStatus, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(int(status), f"{status.phrase}\n".encode(), "text/plain; charset=utf-8",
                    headers)


def _encode(response: Response, head_only: bool) -> bytes:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "Status"
    lines = [f"HTTP/1.1 {response.status} {phrase}",
             f"Content-Type: {response.content_type}",
             f"Content-Length: {len(response.body)}",
             "Cache-Control: no-store",
             "Connection: close",
             *(f"{name}: {value}" for name, value in response.headers)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body
