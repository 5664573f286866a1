"""``python3 vipctl.py add|remove|holds NODE ADDRESS/PREFIX [DEVICE]``: one call of the Linux
address driver, for tests that need a separate process (inside a namespace, or with
capabilities dropped). Prints ``ok``/``held``/``free``, or ``error: ...`` and exits 1."""

from __future__ import annotations

import asyncio
import ipaddress
import sys

from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError
from crg.runtime.address.linux import LinuxAddressDriver


async def main(argv: list[str]) -> int:
    action, node, address = argv[:3]
    vip = Vip(ipaddress.ip_interface(address), argv[3] if len(argv) > 3 else None)
    driver = LinuxAddressDriver(node, announce_count=1)
    try:
        if action == "add":
            await driver.add(vip, node)
        elif action == "remove":
            await driver.remove(vip, node)
        else:
            print("held" if await driver.holds(vip, node) else "free")
            return 0
    except AddressError as error:
        print(f"error: {error}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
