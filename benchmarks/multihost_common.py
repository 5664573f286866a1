"""Shared pieces of the multi-host benchmarks: the namespace LAN of the integration tests,
a tiny application that answers with its node's name, and client probes.

``python3 benchmarks/multihost_common.py serve NODE HOST PORT`` is the application: every
connection receives the node's name and is closed, so a client knows who answered.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from etcd_server import etcd_available  # noqa: E402
from hosts import TIMING, Hosts  # noqa: E402
from netbed import NetBed, in_netns, unavailable_reason  # noqa: E402
from sampler import Sampler  # noqa: E402

__all__ = ["ROOT", "TIMING", "Hosts", "NetBed", "Sampler", "ask", "etcd_available", "in_netns",
           "median", "unavailable_reason", "wait_for_answer_from_other"]

PORT = 8080


def serve(node: str, host: str, port: int) -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(64)
        while True:
            conn, _ = server.accept()
            with conn, contextlib.suppress(OSError):
                conn.sendall(node.encode() + b"\n")


def ask(address: str, port: int = PORT, timeout_s: float = 0.2) -> tuple[str, float]:
    """One connection: (the answering node's name | "refused" | "timeout" | an error
    name, seconds it took)."""
    t0 = time.monotonic()
    with socket.socket() as s:
        s.settimeout(timeout_s)
        try:
            s.connect((address, port))
            answer = s.recv(64).decode().strip() or "closed"
        except ConnectionRefusedError:
            answer = "refused"
        except TimeoutError:
            answer = "timeout"
        except OSError as error:
            answer = type(error).__name__ if error.errno is None else f"errno-{error.errno}"
    return answer, time.monotonic() - t0


def wait_for_answer_from_other(address: str, old: str, since: float, timeout_s: float,
                               port: int = PORT) -> tuple[float | None, str]:
    """Connect every 20 ms (100 ms per attempt) until a node other than ``old``
    answers; returns (seconds after ``since``, that node), or (None, last answer)."""
    deadline = since + timeout_s
    answer = ""
    while time.monotonic() < deadline:
        answer, took = ask(address, port, 0.1)
        if answer not in (old, "refused", "timeout", "closed") and not answer.startswith(
                ("errno-", "Connection")):
            return time.monotonic() - since, answer
        time.sleep(max(0.0, 0.02 - took))
    return None, answer


def median(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: multihost_common.py serve NODE HOST PORT")
