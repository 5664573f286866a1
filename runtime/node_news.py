"""What one node alone knows, told to every node through the store.

Some of what ``crg status``, ``/groups/NAME`` and the metrics show is not in the spec's
state but in one agent's memory: a failure its monitors reported during a maintenance,
held (the spec charges none then: :meth:`crg.runtime.machine.Machine.hold_fault`), and
its runtime alerts in force (a step that keeps failing, an alert sink that fails). Kept
there only, every other host said the dead application was up and showed no trouble. So
the node writes them in the store under its lease — gone with the node — and rewrites
them as they change: ``held/<group>`` and ``troubles/<node>``
(:class:`crg.runtime.records.Keys`).
"""

from __future__ import annotations

import contextlib
import time

from crg.runtime.machine import Machine
from crg.runtime.records import RecordError, dump_held, dump_troubles, read_held
from crg.runtime.store.base import Entry, Lease, Snapshot, Store, StoreError


async def show_held(machine: Machine, lease: Lease, group: str, held: str | None,
                    snap: Snapshot) -> None:
    """Make ``held/<group>`` say what this node holds for ``group`` now: the failure of
    the instance ``held`` (its token; None: none held), or nothing — leaving another
    node's record alone."""
    key = machine.s.keys.held(group)
    entry = snap.get(key)
    pending = machine.faults.get(group)
    if held is not None and pending is not None and pending[0] == held:
        await _keep(machine.s.store, key, entry, lease, dump_held(
            machine.name, pending[1], machine.fault_seen.get(group, time.time())))
        return
    if entry is None:
        return
    try:
        found = read_held(snap, machine.s.keys, group)
    except RecordError:
        found = None  # not crg's shape: nobody else's to keep
    if found is None or found[0] == machine.name:
        await _keep(machine.s.store, key, entry, lease, None)


async def show_troubles(machine: Machine, lease: Lease, snap: Snapshot) -> None:
    """Make ``troubles/<node>`` say this node's runtime alerts in force (absent: none)."""
    key = machine.s.keys.troubles(machine.name)
    await _keep(machine.s.store, key, snap.get(key), lease,
                dump_troubles(machine.troubles) if machine.troubles else None)


async def _keep(store: Store, key: str, entry: Entry | None, lease: Lease,
                value: str | None) -> None:
    """``key`` to hold ``value`` under ``lease`` (None: to be absent), ``entry`` being
    what the caller's snapshot had there. A failed write is left to the next look,
    which compares with its own snapshot again."""
    with contextlib.suppress(StoreError):
        if value is None:
            if entry is not None:
                await store.delete_if(key, entry.mod_revision)
        elif entry is None or entry.value != value:
            await store.put(key, value, lease)
