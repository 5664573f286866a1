"""What the Linux address driver needs from the kernel: CAP_NET_ADMIN to add and remove
addresses (netlink), CAP_NET_RAW to announce them (raw sockets).

Kept apart from the netlink code so that ``crg run`` can check the privileges before it
imports pyroute2 or touches anything.
"""

from __future__ import annotations

import os

from crg.runtime.address.base import AddressError

CAP_NET_ADMIN = 12
CAP_NET_RAW = 13

PRIVILEGE_HINT = (
    "run crg as root, or give it the capabilities CAP_NET_ADMIN and CAP_NET_RAW "
    "(systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)")


def has_capability(bit: int) -> bool:
    """Whether this process holds a capability in its effective set (/proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        pass
    return os.geteuid() == 0


def missing_capabilities() -> list[str]:
    """The capabilities the Linux address driver needs that this process lacks."""
    return [name for name, bit in (("CAP_NET_ADMIN", CAP_NET_ADMIN),
                                   ("CAP_NET_RAW", CAP_NET_RAW)) if not has_capability(bit)]


def privilege_problem() -> str | None:
    """Why this process cannot move addresses (None if it can). ``crg run`` asks once
    before anything is touched: without CAP_NET_RAW an address could be added and only
    then fail to be announced."""
    missing = missing_capabilities()
    if not missing:
        return None
    return (f"--address linux: this process lacks {' and '.join(missing)}, needed to add "
            f"and announce addresses; {PRIVILEGE_HINT}")


def privilege_error(action: str) -> AddressError:
    lacking = " and ".join(missing_capabilities()) or "the needed privileges"
    return AddressError(f"cannot {action}: this process lacks {lacking}; {PRIVILEGE_HINT}")
