"""The coordination store contract: a key-value store with leases, atomic compare-and-set
and watches. ``memory.py`` implements it in process (the embedded default and the test
fake); ``etcd.py`` implements it on etcd v3 for several hosts. The runtime's cluster
records (ownership, group state, node facts, events) are built on these operations only.

Atomicity: :meth:`Store.create`, :meth:`Store.compare_and_set`, :meth:`Store.delete_if`
and :meth:`Store.commit` are each a single atomic operation (one etcd transaction); a
lease's keys disappear together, atomically, when the lease expires or is revoked.
``commit`` is what the runtime uses: one step of the specification changes several keys
(an owner record, a ban, the node's facts) and must change them all or none.
Everything else may be observed in any interleaving. Reads return immutable snapshots.
Every call is bounded in time: an implementation raises :class:`StoreUnavailable`
rather than hang.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError):
    """The store could not be reached within the call's time limit."""


class LeaseExpired(StoreError):
    """The lease is gone: its keys have been deleted by the store."""


@dataclass(frozen=True, slots=True)
class Entry:
    value: str
    mod_revision: int
    """Revision of the last change of this key (compare against it in CAS)."""
    create_revision: int
    lease: int
    """Lease id the key is bound to, 0 for none."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    """The store revision this snapshot reflects."""
    entries: Mapping[str, Entry]

    @staticmethod
    def of(revision: int, entries: dict[str, Entry]) -> Snapshot:
        return Snapshot(revision, MappingProxyType(dict(entries)))

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def under(self, prefix: str) -> dict[str, Entry]:
        return {k: e for k, e in self.entries.items() if k.startswith(prefix)}


@dataclass(frozen=True, slots=True)
class Lease:
    id: int
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class Put:
    key: str
    value: str
    lease: Lease | None = None
    """The lease the key is bound to (None: no lease). It may be another node's lease,
    rebuilt from that node's key (``Lease(entry.lease, ttl)``): the key then disappears
    with that node."""


@dataclass(frozen=True, slots=True)
class Txn:
    """One atomic change of several keys. If every key in ``compare`` still has the given
    ``mod_revision`` (0: the key is absent), every put and delete is applied at one new
    revision; otherwise nothing changes. A key appears at most once among puts and
    deletes (etcd refuses duplicates); deleting an absent key is not an error."""

    compare: Mapping[str, int]
    puts: tuple[Put, ...] = ()
    deletes: tuple[str, ...] = ()


class Store(abc.ABC):
    """All keys live under one prefix chosen by the caller (``/crg/<cluster>/``)."""

    @abc.abstractmethod
    async def grant(self, ttl_ms: int) -> Lease:
        """A new lease; its keys vanish ``ttl_ms`` after the last successful keepalive."""

    @abc.abstractmethod
    async def keepalive(self, lease: Lease) -> None:
        """Renew the lease; raises LeaseExpired if it already expired."""

    @abc.abstractmethod
    async def revoke(self, lease: Lease) -> None:
        """End the lease now, deleting its keys (a clean shutdown)."""

    @abc.abstractmethod
    async def snapshot(self, prefix: str) -> Snapshot:
        """Every key under ``prefix``, consistently at one revision."""

    @abc.abstractmethod
    async def create(self, key: str, value: str, lease: Lease | None = None) -> bool:
        """Atomic: put ``key`` only if it does not exist (etcd: ``create_revision == 0``).
        Returns whether it was created."""

    @abc.abstractmethod
    async def compare_and_set(self, key: str, value: str, expected_mod_revision: int,
                              lease: Lease | None = None) -> bool:
        """Atomic: put ``key`` only if its ``mod_revision`` is still the given one
        (0 means "only if absent")."""

    @abc.abstractmethod
    async def delete_if(self, key: str, expected_mod_revision: int) -> bool:
        """Atomic: delete ``key`` only if its ``mod_revision`` is still the given one."""

    async def commit(self, txn: Txn) -> int:
        """Atomic: apply ``txn`` (see :class:`Txn`). Returns the new revision, or 0 when a
        comparison failed and nothing changed. (etcd: one Txn whose compares are
        ``mod_revision`` equalities and whose success branch holds the puts and deletes.)

        Every store must implement it; this default only exists so that a store written
        against the earlier contract still loads."""
        raise NotImplementedError(f"{type(self).__name__} does not implement Store.commit")

    @abc.abstractmethod
    async def put(self, key: str, value: str, lease: Lease | None = None) -> int:
        """Unconditional put; returns the new revision."""

    @abc.abstractmethod
    async def wait(self, prefix: str, after_revision: int, timeout_ms: int) -> int:
        """Return as soon as some key under ``prefix`` changed after ``after_revision``
        (the new revision), or after ``timeout_ms`` (``after_revision``). Never hangs past
        the timeout, even if the store went away."""

    lease_resolution_s = 0.0
    """How coarsely :meth:`lease_left` counts (etcd: whole seconds)."""

    async def lease_left(self, lease_id: int) -> float | None:
        """Seconds until the lease runs out unless it is renewed (None: unknown, or gone).
        ``crg status`` reads it to tell a node that stopped renewing (*suspect*)."""
        return None

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the store object is unusable afterwards."""
