"""A stand-in agent for the fencing watchdog tests:
``python3 fake_agent.py NODE ADDRESS-KIND DEADLINE_S [VIP]``.

It puts the VIP on (Linux driver), starts two "applications" (``sleep``) in process groups
of their own, starts the watchdog and feeds it every 50 ms with a deadline DEADLINE_S
ahead, as an agent does after each lease renewal. It prints one JSON line with the pids,
then feeds until killed, stopped (SIGSTOP) or 60 s have passed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
import sys
import time

from crg.dsl.model import Vip
from crg.runtime.address.linux import LinuxAddressDriver
from crg.runtime.fencing import FenceState, FencingWatchdog, process_groups


async def main(node: str, address: str, deadline_s: float, vip_text: str | None) -> int:
    vips: tuple[Vip, ...] = ()
    if vip_text:
        vip = Vip(ipaddress.ip_interface(vip_text), None)
        await LinuxAddressDriver(node, announce_count=1).add(vip, node)
        vips = (vip,)
    apps = [subprocess.Popen(["sleep", "300"], start_new_session=True) for _ in range(2)]
    watchdog = await FencingWatchdog.start(node, address=address)
    pgids = process_groups(a.pid for a in apps)
    # Fed before telling the test we are up: it may kill us the moment it knows.
    await watchdog.feed(FenceState(time.monotonic() + deadline_s, vips, pgids))
    print(json.dumps({"agent": __import__("os").getpid(), "watchdog": watchdog.pid,
                      "pgids": list(pgids)}), flush=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        await watchdog.feed(FenceState(time.monotonic() + deadline_s, vips, pgids))
        await asyncio.sleep(0.05)
    await watchdog.stop()
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(asyncio.run(main(args[0], args[1], float(args[2]), args[3] if len(args) > 3
                              else None)))
