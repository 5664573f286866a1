"""How much a search may take: a memory budget and the state budget derived from it.

A search that reaches either stops, and the properties it could not decide are
``unknown`` with the reason — ``crg check`` then exits 4 (inconclusive) instead of dying
of a MemoryError, which would read as a bug in crg. The default memory budget is a share
of the memory available when the check starts, so the machine stays usable; the worker
processes split it.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

MEMORY_SHARE = 0.6
"""Share of the available memory a check may use by default."""
STATE_OVERHEAD = 120
"""Bytes the explicit search keeps per state besides the packed int itself (its set and
list slots, parent and distance entries, the memo tables' share; benchmarks/README.md
measured 89 to 110 bytes a state in all)."""


class BudgetExceeded(Exception):
    """A search stopped at its budget; the message says which and where."""


def available_memory() -> int:
    return int(psutil.virtual_memory().available)


def process_memory() -> int:
    """Resident memory of this process, in bytes."""
    return int(psutil.Process().memory_info().rss)


@dataclass(frozen=True, slots=True)
class Budget:
    memory: int
    """Bytes one search (one worker process) may occupy in all."""
    states: int
    """States one explicit search may keep."""
    stated: bool = False
    """The state budget was given (``--max-states``), not derived from the memory."""

    @staticmethod
    def make(memory: int | None, states: int | None, workers: int,
             state_bits: int) -> Budget:
        """The budget of one search among ``workers`` running at once, for states of
        ``state_bits`` bits."""
        total = memory if memory is not None else int(available_memory() * MEMORY_SHARE)
        share = max(total // max(workers, 1), 1)
        derived = max(share // (STATE_OVERHEAD + 28 + state_bits // 8), 1)
        return Budget(share, derived if states is None else states, states is not None)

    def describe_states(self) -> str:
        why = "the state budget" if self.stated else (
            f"the state budget for {self.memory / 2**20:,.0f} MiB of memory")
        return f"{self.states:,} states ({why}; --max-states raises it)"

    def describe_memory(self) -> str:
        return (f"{self.memory / 2**20:,.0f} MiB of memory (the memory budget; "
                "--memory raises it)")
