"""One node's lease: renewing it, being cut off, coming back (the spec's ``heal`` and
``expire``).

The agent renews its lease every heartbeat. When it has not renewed it for so long that
the lease could run out before the node has let go of its groups — renewals failed, or
the process stalled and sent none — the node is *cut*: its lanes see it so in the spec's
state and fence, from the last snapshot they read (the language's timing rule,
``heartbeat + 2 × store-timeout + fence-margin ≤ lease``, leaves the time). A fencing
watchdog that fenced the node in its place (:meth:`LeaseKeeper.watchdog_fenced`) cuts
it too, so that what the watchdog removed is recorded as the spec's ``fence`` steps.

Once cut, the node completes its fencing before it records anything else about itself:
``heal`` when a renewal gets through again, or, when the lease ran out meanwhile,
``expire`` (the spec enables it only once every self-fencing group is fenced), a new
lease — retried with growing pauses while the store refuses — and ``heal``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from crg.runtime.commit import enabled
from crg.runtime.records import dump_facts, encode, facts_of
from crg.runtime.store.base import Lease, LeaseExpired, Snapshot, StoreError
from crg.spec import Action, ActionKind
from crg.spec.present.modes import describe

if TYPE_CHECKING:
    from crg.runtime.agent import Agent

log = logging.getLogger("crg.runtime")

REJOIN_PAUSE_MAX_S = 5.0
"""Registering again after an expiry is retried after 1, 2, 4... heartbeats, up to this."""


class LeaseKeeper:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        cluster = agent.s.config.cluster
        self.fence_by_s = (cluster.lease_ms - cluster.fence_margin_ms) / 1000
        """How long after a renewal was sent the node must be fenced by, if no renewal
        follows (the fencing watchdog's deadline)."""
        self.cut_after_s = self.fence_by_s - agent.s.heartbeat_s
        """How long without a renewal before the node counts itself cut off."""
        self.fenced = asyncio.Event()
        """Set whenever this node's facts change (a fence step may have completed)."""

    # -- renewing --------------------------------------------------------------------

    async def run(self) -> None:
        """Renew the lease every heartbeat, for ever: nothing that goes wrong in one
        round may end the renewals (a node that stops renewing loses its groups)."""
        a = self.agent
        while True:
            await asyncio.sleep(a.s.heartbeat_s)
            try:
                if not await self._renew():
                    return
            except Exception:
                log.exception("%s: renewing its lease failed", a.name)

    async def _renew(self) -> bool:
        """One renewal; False when the lease is lost for good (the embedded runtime)."""
        a = self.agent
        self.overdue()
        sent = time.monotonic()
        try:
            await a.s.store.keepalive(a.lease)
        except LeaseExpired:
            log.error("%s: its lease expired", a.name)
            if a.on_lease_lost is not None:
                await a.on_lease_lost(a)
                return False
            await self._rejoin()
            return True
        except Exception as exc:
            log.warning("%s: cannot renew its lease: %s", a.name, exc)
            self.overdue()
            return True
        self.renewed(sent)
        if a.cut:
            await self._heal()
        return True

    def renewed(self, sent: float) -> None:
        """The lease holds until at least ``sent`` + the lease: tell the listeners."""
        a = self.agent
        a.renewed_at = sent
        for listener in a.renewal_listeners:
            try:
                listener(sent)
            except Exception:
                log.exception("%s: a lease renewal listener failed", a.name)

    def overdue(self) -> bool:
        """Cut the node off if its last renewal is so old that it must be fenced now
        (True if this call did it). Checked before every renewal and by every lane before
        it acts, so a process that resumes after a stall fences before it trusts what
        the store says now: the others may have taken its groups meanwhile."""
        a = self.agent
        if a.cut or not a.cut_when_silent:
            return False
        silent = time.monotonic() - a.renewed_at
        if silent < self.cut_after_s:
            return False
        log.error("%s: no lease renewal for %.1f s (the store is out of reach or this "
                  "process stalled): fencing itself", a.name, silent)
        a.cut = True
        a.wake()
        return True

    def watchdog_fenced(self, why: str) -> None:
        """The fencing watchdog fenced this node (its deadline passed): the node is cut
        off, so its lanes record the fencing as the spec's ``fence`` steps (doing again,
        harmlessly, what the watchdog did) before it may heal."""
        a = self.agent
        if not a.cut:
            log.error("%s: its fencing watchdog fenced it (%s): fencing itself", a.name, why)
            a.cut = True
            a.wake()

    # -- coming back -----------------------------------------------------------------

    async def _heal(self) -> None:
        """Back in contact before the lease ran out: the spec's ``heal``, once fenced."""
        a = self.agent
        await self._until_fenced()
        await self.local_event(Action(ActionKind.HEAL, -1, a.index))
        a.cut = False
        a.wake()

    async def _rejoin(self) -> None:
        """The lease ran out (the others count this node as gone and took its groups):
        the spec's ``expire``, then register again with a new lease and ``heal``."""
        a = self.agent
        if not a.cut:
            a.cut = True
            a.wake()
        await self._until_fenced()
        await self.local_event(Action(ActionKind.EXPIRE, -1, a.index))
        pause = a.s.heartbeat_s
        lease: Lease | None = None
        while True:
            try:
                if lease is None:
                    lease = await self._register()
                if lease is not None:
                    await a.s.store.keepalive(lease)
                    a.last_snap = await a.s.store.snapshot(a.s.keys.prefix)
                    break
            except LeaseExpired:
                lease = None  # the new lease ran out too before the node could use it
            except StoreError as exc:
                log.warning("%s: cannot register again after its lease expired: %s",
                            a.name, exc)
            log.warning("%s: registering again in %.2f s", a.name, pause)
            await asyncio.sleep(pause)
            pause = min(2 * pause, REJOIN_PAUSE_MAX_S) if lease is None else a.s.heartbeat_s
        await self._heal()

    async def _register(self) -> Lease | None:
        """A new lease bound to this node's liveness key, or None if another lease holds
        the key (another agent for this node?). Raises StoreError."""
        a = self.agent
        store, key = a.s.store, a.s.keys.node(a.name)
        sent = time.monotonic()
        lease = await store.grant(a.s.ttl_ms)
        if not await store.create(key, "up", lease):
            log.error("%s: cannot register again: %s is held by another lease (another "
                      "agent for %s?)", a.name, key, a.name)
            with contextlib.suppress(StoreError):
                await store.revoke(lease)
            return None
        a.lease = lease
        # A new lease is a renewal: the fencing watchdog's deadline moves on before the
        # node heals and takes groups again (with the old, past deadline it fenced the
        # groups this node took back).
        self.renewed(sent)
        return lease

    async def _until_fenced(self) -> None:
        """Wait (bounded) until the lanes have fenced every self-fencing group here."""
        a = self.agent
        deadline = time.monotonic() + self.fence_by_s
        while held := self._unfenced():
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("%s: still holds %s after fencing for %.1f s", a.name,
                          ", ".join(held), self.fence_by_s)
                return
            self.fenced.clear()
            a.wake()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, a.s.heartbeat_s)):
                    await self.fenced.wait()

    def _unfenced(self) -> list[str]:
        a = self.agent
        fencing = {t.name for t in a.s.model.groups if t.self_fencing}
        return sorted(g for g, held in a.facts.items() if held and g in fencing)

    # -- recording -------------------------------------------------------------------

    async def local_event(self, action: Action) -> None:
        """Apply a change of this node's own status to its view, record it and publish
        its facts (no transaction: only this node writes them)."""
        a = self.agent
        async with a.s.lock:
            snap: Snapshot = a.last_snap or await a.s.store.snapshot(a.s.keys.prefix)
            state = encode(a.s.model, a.s.keys, snap, me=a.index, my_facts=a.facts,
                           me_cut=True)
            after = enabled(a.s.model, state, action)
            if after is None:
                log.error("%s: %s is not a transition of the spec here (the node was not "
                          "fenced in time?)", a.name, describe(a.s.model, action))
                return
            a.facts = facts_of(a.s.model, after, a.index)
            a.s.recorder.committed(action, a.name, state, after, 0, None)
        if action.kind is ActionKind.HEAL:
            with contextlib.suppress(StoreError):
                await a.s.store.put(a.s.keys.facts(a.name), dump_facts(a.facts), a.lease)
