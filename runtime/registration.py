"""Registering a node's liveness key, with the spec's effect of its return.

A node that comes back (a restarted agent, ``crg join``, a node whose lease ran out and
that registers again) is the spec's ``rejoin``: seen from the others it was down and is
live again. That event has an effect on groups — it may end a last-node or blocked alert
episode (a standby is back), and the spec clears the episode's alert in the same step
(``crg.spec.rules.care.end_episodes``) so that the next episode raises its own alert. So
the liveness key is created in one transaction with the records that effect changes, as
the spec's step is one transition; a stale alert flag left behind would swallow the alert
of the next episode. (:mod:`crg.runtime.agreement` adds the configuration's fingerprint to
the same transaction on hosts.)
"""

from __future__ import annotations

from crg.runtime.records import Keys, changes, encode
from crg.runtime.store.base import Lease, Put, Snapshot, Store, StoreError, Txn
from crg.spec import Action, ActionKind, Model

ATTEMPTS = 50
"""Transactions tried while other writers keep changing what the effect reads: each
failure means another step committed meanwhile, so this bounds a busy loop, not a wait."""


class RegistrationRaced(StoreError):
    """The store kept changing under the registration (``ATTEMPTS`` times)."""


def rejoin_txn(model: Model, keys: Keys, snap: Snapshot, node: str, lease: Lease,
               ttl_ms: int) -> Txn:
    """What ``node``'s return changes in the records of ``snap`` (its liveness key aside),
    comparing every record that effect reads: the spec's ``rejoin`` of a node the others
    count as down."""
    index = model.topology.node_index(node)
    before = encode(model, keys, snap)
    after = model.apply(before, Action(ActionKind.REJOIN, -1, index))
    # The liveness key is the lease's to create; the rest is an ordinary change of group
    # records, so the node part of ``after`` is put back to ``before``'s.
    layout = model.layout
    groups_only = (after & ~((1 << layout.nodes_width) - 1)) | layout.nodes_part(before)
    return changes(model, keys, snap, before, groups_only, node=index, lease=lease,
                   ttl_ms=ttl_ms, every_group=True)


def with_liveness(txn: Txn, key: str, value: str, lease: Lease) -> Txn:
    """``txn`` that also creates the liveness key ``key`` (only if it is absent)."""
    return Txn({**txn.compare, key: 0}, (*txn.puts, Put(key, value, lease)), txn.deletes)


async def register(store: Store, model: Model, keys: Keys, node: str, value: str,
                   lease: Lease, ttl_ms: int) -> int:
    """Create ``node``'s liveness key bound to ``lease``, with the effect of its return on
    every group, atomically. Returns the store revision, or 0 when the key is held (by
    another lease: another agent for the node, or an earlier run not yet expired)."""
    for _ in range(ATTEMPTS):
        snap = await store.snapshot(keys.prefix)
        if snap.get(keys.node(node)) is not None:
            return 0
        txn = with_liveness(rejoin_txn(model, keys, snap, node, lease, ttl_ms),
                            keys.node(node), value, lease)
        revision = await store.commit(txn)
        if revision:
            return revision
    raise RegistrationRaced(f"{node}: the store kept changing while {node} registered")
