"""A failure held during a maintenance, told to every node through the store.

The spec charges no fault to a group in maintenance, so the failure its monitors report
is kept by the node that saw it (:meth:`crg.runtime.machine.Machine.hold_fault`) until
the maintenance ends. Kept there only, ``crg status``, ``/groups/NAME`` and the
``crg_group_app_up`` gauge on every other node said the dead application was up. The
node that holds it writes ``held/<group>`` (:meth:`crg.runtime.records.Keys.held`) under
its lease — gone with the node — and deletes it once it no longer holds it.
"""

from __future__ import annotations

import contextlib
import time

from crg.runtime.machine import Machine
from crg.runtime.records import RecordError, dump_held, read_held
from crg.runtime.store.base import Lease, Snapshot, StoreError


async def show(machine: Machine, lease: Lease, group: str, held: str | None,
               snap: Snapshot) -> None:
    """Make ``held/<group>`` say what this node holds for ``group`` now: the failure of
    the instance ``held`` (its token; None: none held), or nothing. A failed write is
    left to the next cycle, which compares with its own snapshot again."""
    store, key = machine.s.store, machine.s.keys.held(group)
    entry = snap.get(key)
    pending = machine.faults.get(group)
    with contextlib.suppress(StoreError):
        if held is not None and pending is not None and pending[0] == held:
            value = dump_held(machine.name, pending[1],
                              machine.fault_seen.get(group, time.time()))
            if entry is None or entry.value != value:
                await store.put(key, value, lease)
            return
        if entry is None:
            return
        try:
            ours = (found := read_held(snap, machine.s.keys, group)) is None \
                or found[0] == machine.name
        except RecordError:
            ours = True  # not crg's shape: nobody else's to keep
        if ours:
            await store.delete_if(key, entry.mod_revision)
