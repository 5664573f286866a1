"""systemd's notification protocol, written by hand (it is one datagram): ``READY=1``
once the agent is registered and running, ``STATUS=...`` as what it serves changes,
``STOPPING=1`` when it begins to drain, and ``WATCHDOG=1`` every half of
``WATCHDOG_USEC`` while it is alive (README, "A systemd unit").

The pings come from a task on the agent's own event loop, and only while every agent's
lease keeper still runs, so a loop that stalls (a blocking call, a deadlock, a frozen
process) stops them and systemd restarts the agent — its fencing watchdog, a separate
process, has removed its VIPs by then.

``NOTIFY_SOCKET`` is an ``AF_UNIX`` datagram socket: a path, or with a leading ``@`` a
name in the abstract namespace. The variables are taken out of the environment once
read, so the applications the agent starts do not speak for it. Nothing here ever
raises: a notification that cannot be sent is logged once, and the agent goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, MutableMapping

log = logging.getLogger("crg.runtime")

VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def socket_address(value: str) -> str | bytes | None:
    """The address to send to for ``NOTIFY_SOCKET=value`` (None: not one systemd uses)."""
    if value.startswith("@") and len(value) > 1:
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


class Notifier:
    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        """Read (and remove) the variables from ``environ`` (the process's by default)."""
        env = os.environ if environ is None else environ
        values = {name: env.pop(name, None) for name in VARIABLES}
        self.address = socket_address(values["NOTIFY_SOCKET"] or "")
        self.watchdog_s: float | None = None
        usec, pid = values["WATCHDOG_USEC"], values["WATCHDOG_PID"]
        if usec and usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1_000_000
        self._failed = False
        self._status: str | None = None

    @property
    def active(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """One datagram with ``fields`` (``KEY=value``), one per line."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto(message, self.address)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify systemd (NOTIFY_SOCKET): %s", exc.strerror or exc)
                self._failed = True
            return False
        return True

    def ready(self, status: str) -> None:
        self._status = status
        self.send("READY=1", f"STATUS={_one_line(status)}")

    def status(self, status: str) -> None:
        """``STATUS=status``, only when it changed."""
        if status != self._status:
            self._status = status
            self.send(f"STATUS={_one_line(status)}")

    def stopping(self, status: str) -> None:
        self._status = status
        self.send("STOPPING=1", f"STATUS={_one_line(status)}")

    async def keep_alive(self, alive: Callable[[], bool],
                         status: Callable[[], str] | None = None) -> None:
        """Ping the watchdog every half of ``WATCHDOG_USEC`` while ``alive()``, and
        refresh ``STATUS=`` from ``status()`` as often (runs until cancelled)."""
        period = self.watchdog_s / 2 if self.watchdog_s else 5.0
        while True:
            if status is not None:
                self.status(status())
            if self.watchdog_s and alive():
                self.send("WATCHDOG=1")
            await asyncio.sleep(period)


def _one_line(text: str) -> str:
    return " ".join(text.split())
