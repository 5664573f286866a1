"""``python3 storectl.py URL COMMAND ARGS...``: etcd store calls from a separate process, so
a test can make them from inside a node's namespace (gRPC's threads stay in the namespace
they started in, so a test process cannot hop between namespaces with it). Prints one JSON
value. Commands::

    take KEY VALUE TTL_MS        grant a lease, create KEY bound to it → lease id
    renew LEASE_ID               one keepalive → "ok" | "expired" | "unavailable", seconds
    create KEY VALUE             → true | false
    wait-gone KEY SECONDS        poll until KEY is absent → time.monotonic() then, or null
    hold KEY TTL_MS SECONDS      create KEY on a lease, renew it every 500 ms for SECONDS
                                 → {"failures": n, "gap": longest s between renewals,
                                    "resumed": time.monotonic() of the renewal that
                                    ended that gap, "kept": whether KEY is still there}
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from crg.runtime.store.base import Lease, LeaseExpired, StoreUnavailable
from crg.runtime.store.etcd import EtcdStore


async def command(store: EtcdStore, name: str, args: list[str]) -> Any:
    if name == "take":
        lease = await store.grant(int(args[2]))
        assert await store.create(args[0], args[1], lease)
        return lease.id
    if name == "renew":
        t0 = time.monotonic()
        try:
            await store.keepalive(Lease(int(args[0]), 0))
            return ["ok", time.monotonic() - t0]
        except LeaseExpired:
            return ["expired", time.monotonic() - t0]
        except StoreUnavailable:
            return ["unavailable", time.monotonic() - t0]
    if name == "create":
        return await store.create(args[0], args[1])
    if name == "wait-gone":
        end = time.monotonic() + float(args[1])
        while time.monotonic() < end:
            try:
                if (await store.snapshot(args[0])).get(args[0]) is None:
                    return time.monotonic()
            except StoreUnavailable:
                pass
            await asyncio.sleep(0.05)
        return None
    if name == "hold":
        lease = await store.grant(int(args[1]))
        assert await store.create(args[0], "holder", lease)
        failures, last_ok, gap, resumed = 0, time.monotonic(), 0.0, 0.0
        end = time.monotonic() + float(args[2])
        while time.monotonic() < end:
            try:
                await store.keepalive(lease)
                now = time.monotonic()
                if now - last_ok > gap:
                    gap, resumed = now - last_ok, now
                last_ok = now
            except StoreUnavailable:
                failures += 1
            await asyncio.sleep(0.5)
        kept = (await store.snapshot(args[0])).get(args[0]) is not None
        return {"failures": failures, "gap": gap, "resumed": resumed, "kept": kept}
    raise SystemExit(f"unknown command {name}")


async def main(argv: list[str]) -> int:
    store = EtcdStore.from_url(argv[0], timeout_ms=1000 if argv[1] == "hold" else 500)
    try:
        print(json.dumps(await command(store, argv[1], argv[2:])), flush=True)
    finally:
        await store.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
