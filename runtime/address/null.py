"""A dry run: every address is accepted and only remembered, nothing is configured."""

from __future__ import annotations

from crg.runtime.address.ledger import LedgerDriver


class NullDriver(LedgerDriver):
    name = "null"
