"""VIPs without privileges: addresses in 127.0.0.0/8 and ::1.

Linux routes all of 127.0.0.0/8 to the loopback interface already, so an application can
bind any of them without configuring anything; "holding" such a VIP is bookkeeping (see
:mod:`crg.runtime.address.ledger`). A client connecting to a held VIP whose application is
down is refused at once, exactly like offline mode on a real network.
"""

from __future__ import annotations

from crg.dsl.model import Vip
from crg.runtime.address.ledger import LedgerDriver


class LoopbackDriver(LedgerDriver):
    name = "loopback"

    def accepts(self, vip: Vip) -> str | None:
        if vip.interface.ip.is_loopback:
            return None
        return (f"{vip.address} is not a loopback address: the loopback driver holds only "
                "127.0.0.0/8 and ::1 (use --address linux for real addresses, or --address "
                "null for a dry run)")
