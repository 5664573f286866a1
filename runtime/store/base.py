"""The coordination store contract: a key-value store with leases, atomic compare-and-set
and watches. ``memory.py`` implements it in process (the embedded default and the test
fake); ``etcd.py`` implements it on etcd v3 for several hosts. The runtime's cluster
records (ownership, group state, node facts, events) are built on these operations only.

Atomicity: :meth:`Store.create`, :meth:`Store.compare_and_set` and
:meth:`Store.delete_if` are each a single atomic operation (one etcd transaction); a
lease's keys disappear together, atomically, when the lease expires or is revoked.
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

    @abc.abstractmethod
    async def put(self, key: str, value: str, lease: Lease | None = None) -> int:
        """Unconditional put; returns the new revision."""

    @abc.abstractmethod
    async def wait(self, prefix: str, after_revision: int, timeout_ms: int) -> int:
        """Return as soon as some key under ``prefix`` changed after ``after_revision``
        (the new revision), or after ``timeout_ms`` (``after_revision``). Never hangs past
        the timeout, even if the store went away."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the store object is unusable afterwards."""
