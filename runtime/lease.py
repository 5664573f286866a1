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
from collections.abc import Awaitable, Callable

from crg.runtime.agreement import node_record
from crg.runtime.commit import Services, enabled
from crg.runtime.holdings import Holdings
from crg.runtime.records import dump_facts, encode, facts_of
from crg.runtime.registration import register
from crg.runtime.store.base import Lease, LeaseExpired, Snapshot, StoreError
from crg.runtime.telemetry import NO_TELEMETRY, Telemetry
from crg.spec import Action, ActionKind
from crg.spec.present.modes import describe

log = logging.getLogger("crg.runtime")

REJOIN_PAUSE_MAX_S = 5.0
"""Registering again after an expiry is retried after 1, 2, 4... heartbeats, up to this."""


class LeaseKeeper:
    """The lease of one node and everything that follows from it: whether the node is
    cut off, when it last renewed, and the last view of the store it may act on while
    cut off. Only the keeper changes them; the agent's lanes read them."""

    def __init__(self, services: Services, node: str, lease: Lease, holdings: Holdings,
                 wake: Callable[[], None], *,
                 on_lost: Callable[[], Awaitable[None]] | None = None,
                 cut_when_silent: bool = True, telemetry: Telemetry = NO_TELEMETRY) -> None:
        """``holdings``: the node's facts (fencing is complete when no self-fencing group
        is held); ``wake``: make every lane look again; ``on_lost``: what to do when the
        lease expired (the embedded runtime crashes the node), instead of registering
        again; ``cut_when_silent``: see :meth:`overdue`."""
        self.s = services
        self.name = node
        self.index = services.model.topology.node_index(node)
        self.lease = lease
        self.holdings = holdings
        self.wake = wake
        self.on_lost = on_lost
        self.cut_when_silent = cut_when_silent
        """Count this node cut off when its lease has not been renewed in time; False in
        the embedded runtime, whose store is in this process: it cannot be out of reach,
        and when the process stalls the store's lease time stands still too."""
        self.telemetry = telemetry
        self.cut = False
        self.renewed_at = time.monotonic()
        """When the last successful lease renewal was sent."""
        self.view: Snapshot | None = None
        """The last snapshot of the store this node read (while cut off, it acts on it)."""
        self.view_at = 0.0
        """When :attr:`view` was read (time.monotonic())."""
        self.failing_since: float | None = None
        """When renewals began to fail (time.monotonic()), None while they get through: the
        failure is logged once per outage, and the renewal that ends it says so."""
        self.last_error = ""
        """Why the latest renewal failed (said when the node counts itself cut off)."""
        self.cut_listeners: list[Callable[[str | None], None]] = []
        """Called with why when the node counts itself cut off, with None once it heals:
        the operator must hear that this node fenced itself, from the node itself, since
        with the store down for everyone no other node can say it."""
        self.renewal_listeners: list[Callable[[float], None]] = []
        """Called with the send time of every successful renewal (a fencing watchdog's
        feed: the lease holds until at least that time + the lease)."""
        cluster = services.config.cluster
        self.fence_by_s = (cluster.lease_ms - cluster.fence_margin_ms) / 1000
        """How long after a renewal was sent the node must be fenced by, if no renewal
        follows (the fencing watchdog's deadline)."""
        self.cut_after_s = self.fence_by_s - services.heartbeat_s
        """How long without a renewal before the node counts itself cut off."""

    def remember(self, snap: Snapshot) -> None:
        """``snap`` is the latest view of the store this node read. The view it has
        already, handed back to a cut-off node's cycles to act on, is not a new one: its
        age goes on (``crg status`` says how old the state it shows is)."""
        if snap is not self.view:
            self.view, self.view_at = snap, time.monotonic()

    def _cut_off(self, why: str) -> None:
        self.cut = True
        self.wake()
        self._tell(why)

    def _tell(self, why: str | None) -> None:
        for listener in self.cut_listeners:
            try:
                listener(why)
            except Exception:
                log.exception("%s: a cut-off listener failed", self.name)

    # -- renewing --------------------------------------------------------------------

    async def run(self) -> None:
        """Renew the lease every heartbeat, for ever: nothing that goes wrong in one
        round may end the renewals (a node that stops renewing loses its groups)."""
        while True:
            await asyncio.sleep(self.s.heartbeat_s)
            try:
                if not await self._renew():
                    return
            except Exception:
                log.exception("%s: renewing its lease failed", self.name)

    async def _renew(self) -> bool:
        """One renewal; False when the lease is lost for good (the embedded runtime)."""
        self.overdue()
        sent = time.monotonic()
        try:
            await self.s.store.keepalive(self.lease)
            self.telemetry.renewal(time.monotonic() - sent)
        except LeaseExpired:
            log.error("%s: its lease expired", self.name)
            if self.on_lost is not None:
                await self.on_lost()
                return False
            await self._rejoin()
            return True
        except Exception as exc:
            self.last_error = str(exc)
            # Once per outage: every heartbeat while the store is out of reach would bury
            # the lines that matter (the cut-off, the fencing) under the same warning.
            if self.failing_since is None:
                self.failing_since = sent
                log.warning("%s: cannot renew its lease: %s (retried every heartbeat; "
                            "said again once renewals resume)", self.name, exc)
            else:
                log.debug("%s: cannot renew its lease: %s", self.name, exc)
            self.overdue()
            return True
        if self.failing_since is not None:
            log.warning("%s: lease renewals resume after %.1f s of failures", self.name,
                        sent - self.failing_since)
            self.failing_since = None
        self.renewed(sent)
        if self.cut:
            await self._heal()
        return True

    def renewed(self, sent: float) -> None:
        """The lease holds until at least ``sent`` + the lease: tell the listeners."""
        self.renewed_at = sent
        for listener in self.renewal_listeners:
            try:
                listener(sent)
            except Exception:
                log.exception("%s: a lease renewal listener failed", self.name)

    def overdue(self) -> bool:
        """Cut the node off if its last renewal is so old that it must be fenced now
        (True if this call did it). Checked before every renewal and by every lane before
        it acts, so a process that resumes after a stall fences before it trusts what
        the store says now: the others may have taken its groups meanwhile."""
        if self.cut or not self.cut_when_silent:
            return False
        silent = time.monotonic() - self.renewed_at
        if silent < self.cut_after_s:
            return False
        log.error("%s: no lease renewal for %.1f s (the store is out of reach or this "
                  "process stalled): fencing itself", self.name, silent)
        failed = f": {self.last_error}" if self.failing_since is not None else ""
        self._cut_off(f"{self.name} is cut off from the store: after {silent:.1f} s without a "
                      f"lease renewal (the store is out of reach or this process "
                      f"stalled{failed}) it fenced itself, stopping what it ran of its "
                      "groups, which the other nodes take over once its lease runs out if "
                      "they can reach the store")
        return True

    def watchdog_fenced(self, why: str) -> None:
        """The fencing watchdog fenced this node (its deadline passed): the node is cut
        off, so its lanes record the fencing as the spec's ``fence`` steps (doing again,
        harmlessly, what the watchdog did) before it may heal."""
        if not self.cut:
            log.error("%s: its fencing watchdog fenced it (%s): fencing itself",
                      self.name, why)
            self._cut_off(f"{self.name}'s fencing watchdog fenced it ({why}): it stops what "
                          "it runs of its groups, which the other nodes take over once its "
                          "lease runs out")

    # -- coming back -----------------------------------------------------------------

    async def _heal(self) -> None:
        """Back in contact before the lease ran out: the spec's ``heal``, once fenced."""
        await self._until_fenced()
        await self.local_event(Action(ActionKind.HEAL, -1, self.index))
        self.cut = False
        self.wake()
        self._tell(None)

    async def _rejoin(self) -> None:
        """The lease ran out (the others count this node as gone and took its groups):
        the spec's ``expire``, then register again with a new lease and ``heal``."""
        if not self.cut:
            self._cut_off(f"{self.name}'s lease expired (the store is out of reach or this "
                          "process stalled); it fences itself and registers again")
        await self._until_fenced()
        await self.local_event(Action(ActionKind.EXPIRE, -1, self.index))
        pause = self.s.heartbeat_s
        lease: Lease | None = None
        while True:
            try:
                if lease is None:
                    lease = await self._register()
                if lease is not None:
                    await self.s.store.keepalive(lease)
                    self.remember(await self.s.store.snapshot(self.s.keys.prefix))
                    break
            except LeaseExpired:
                lease = None  # the new lease ran out too before the node could use it
            except StoreError as exc:
                log.warning("%s: cannot register again after its lease expired: %s",
                            self.name, exc)
            log.warning("%s: registering again in %.2f s", self.name, pause)
            await asyncio.sleep(pause)
            pause = min(2 * pause, REJOIN_PAUSE_MAX_S) if lease is None else self.s.heartbeat_s
        await self._heal()

    async def _register(self) -> Lease | None:
        """A new lease bound to this node's liveness key, or None if another lease holds
        the key (another agent for this node?). Raises StoreError."""
        store, key = self.s.store, self.s.keys.node(self.name)
        sent = time.monotonic()
        lease = await store.grant(self.s.ttl_ms)
        # The configuration is not compared here: this agent runs already, and its
        # ConfigWatch raises a runtime alert if the others run another one now.
        if not await register(store, self.s.model, self.s.keys, self.name,
                              node_record(*self.s.fingerprint), lease, self.s.ttl_ms):
            log.error("%s: cannot register again: %s is held by another lease (another "
                      "agent for %s?)", self.name, key, self.name)
            with contextlib.suppress(StoreError):
                await store.revoke(lease)
            return None
        self.lease = lease
        # A new lease is a renewal: the fencing watchdog's deadline moves on before the
        # node heals and takes groups again (with the old, past deadline it fenced the
        # groups this node took back).
        self.renewed(sent)
        return lease

    async def _until_fenced(self) -> None:
        """Wait (bounded) until the lanes have fenced every self-fencing group here."""
        deadline = time.monotonic() + self.fence_by_s
        while held := self._unfenced():
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("%s: still holds %s after fencing for %.1f s", self.name,
                          ", ".join(held), self.fence_by_s)
                return
            self.holdings.changed.clear()
            self.wake()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, self.s.heartbeat_s)):
                    await self.holdings.changed.wait()

    def _unfenced(self) -> list[str]:
        fencing = {t.name for t in self.s.model.groups if t.self_fencing}
        return sorted(g for g, held in self.holdings.facts.items() if held and g in fencing)

    # -- recording -------------------------------------------------------------------

    async def local_event(self, action: Action) -> None:
        """Apply a change of this node's own status to its view, record it and publish
        its facts (no transaction: only this node writes them)."""
        async with self.s.lock:
            snap: Snapshot = self.view or await self.s.store.snapshot(self.s.keys.prefix)
            state = encode(self.s.model, self.s.keys, snap, me=self.index,
                           my_facts=self.holdings.facts, me_cut=True)
            after = enabled(self.s.model, state, action)
            if after is None:
                log.error("%s: %s is not a transition of the spec here (the node was not "
                          "fenced in time?)", self.name, describe(self.s.model, action))
                return
            self.holdings.update(facts_of(self.s.model, after, self.index))
            self.s.recorder.committed(action, self.name, state, after, 0, None)
        if action.kind is ActionKind.HEAL:
            with contextlib.suppress(StoreError):
                await self.s.store.put(self.s.keys.facts(self.name),
                                       dump_facts(self.holdings.facts), self.lease)
