"""Committing one spec transition to the store: the runtime's only way to change state.

Every change of the cluster's state — a step of the cluster service, a fault a monitor
saw, an operator's command — goes through :func:`commit`: under the process's commit
lock, read a fresh snapshot, let the recorder account for what happened meanwhile
(leases that ran out), encode the spec state, check that the action is still enabled
there, compute ``after = model.apply(state, action)``, write the difference in one
store transaction (:func:`crg.runtime.records.changes`) and record the transition.
Nothing here decides anything: :meth:`crg.spec.Model.decide` and ``apply`` do.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from crg.dsl.model import Config
from crg.runtime.address.base import AddressDriver
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.fingerprint import fingerprint
from crg.runtime.records import Extra, Facts, Keys, RecordError, changes, encode
from crg.runtime.store.base import Lease, Snapshot, Store, StoreError, StoreUnavailable, Txn
from crg.spec import KINDS, Action, ActionKind, IllegalAction, Model, State

log = logging.getLogger("crg.runtime")


class Recorder(Protocol):
    """Where committed transitions go (the trace), and who accounts for the changes the
    store makes by itself (a lease running out) before anyone acts on them."""

    async def observe(self, snap: Snapshot) -> None: ...

    def committed(self, action: Action, by: str, before: State, after: State,
                  revision: int, snap_after: Snapshot | None) -> None: ...


@dataclass
class Services:
    """What every agent of one process shares."""

    config: Config
    model: Model
    keys: Keys
    store: Store
    address: AddressDriver
    events: EventLog
    recorder: Recorder
    run_dir: Path
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    verify: bool = False
    """Re-read the store after each commit and check it says ``after`` (embedded mode:
    the whole state is in the store)."""

    @functools.cached_property
    def fingerprint(self) -> tuple[str, dict[str, Any]]:
        """(sha256, canonical form) of the configuration (runtime/fingerprint.py)."""
        return fingerprint(self.config)

    @property
    def ttl_ms(self) -> int:
        return self.config.cluster.lease_ms

    @property
    def heartbeat_s(self) -> float:
        return self.config.cluster.heartbeat_ms / 1000


@dataclass(frozen=True)
class Actor:
    """Who commits: a node's agent (with its lease and its own physical facts), or the
    runtime itself acting for an operator (``node`` None)."""

    node: str | None = None
    index: int = -1
    lease: Lease | None = None
    facts: Facts | None = None
    cut: bool = False
    snapshot: Snapshot | None = None
    """While cut off from the store: the last snapshot read (the store cannot be asked)."""


@dataclass(frozen=True)
class Outcome:
    committed: bool
    why: str = ""
    """Why not, when not committed."""
    before: State = 0
    after: State = 0
    revision: int = 0
    snap: Snapshot | None = None
    payload: dict[str, Any] = field(default_factory=dict)


ExtraFor = Callable[[Snapshot, State, State], tuple[Extra, dict[str, Any]]]


LOCAL_KINDS = frozenset({ActionKind.FENCE, ActionKind.WATCHDOG_CLEAN,
                         ActionKind.WATCHDOG_RETIRE})
"""What a node cut off from the store may still do: act on itself (fence, clean up)."""


async def read_state(services: Services, actor: Actor) -> tuple[Snapshot, State]:
    snap = (actor.snapshot if actor.cut and actor.snapshot is not None
            else await services.store.snapshot(services.keys.prefix))
    return snap, state_of(services, actor, snap)


def state_of(services: Services, actor: Actor, snap: Snapshot) -> State:
    """The spec's state ``actor`` reads in ``snap`` (with its own facts and cut-off)."""
    return encode(services.model, services.keys, snap, me=_me(actor), my_facts=actor.facts,
                  me_cut=actor.cut)


def _me(actor: Actor) -> int | None:
    return actor.index if actor.node is not None else None


def enabled(model: Model, state: State, action: Action) -> State | None:
    """The state after ``action`` if it is enabled in ``state``."""
    if (KINDS[action.kind].system and action.kind is not ActionKind.EXPIRE
            and action not in model.decide(state, action.node)):
        return None  # decide() leaves out expire: time does it, not a node
    try:
        return model.apply(state, action)
    except IllegalAction:
        return None


ActorOf = Actor | Callable[[], Actor]

NOT_ENABLED = "no longer enabled"
"""Why a commit did not land when the state it read does not enable the step any more."""

CUT_OFF = "cut off from the store"
"""Why a node cut off from the store commits nothing but its own fencing."""

RACE = "the store changed meanwhile"
"""Why a commit did not land when another writer got in first: worth trying again."""


async def commit(services: Services, actor_of: ActorOf, action: Action,
                 extra_for: ExtraFor | None = None,
                 on_commit: Callable[[Outcome], None] | None = None) -> Outcome:
    """Commit ``action`` (see the module's docstring). ``actor_of`` is called under the
    lock, so that a node's own facts are read after the commits of its other lanes;
    ``on_commit`` runs under the lock too, before anyone else may read them again."""
    model = services.model
    async with services.lock:
        actor = actor_of() if callable(actor_of) else actor_of
        if actor.cut and action.kind not in LOCAL_KINDS:
            return Outcome(False, CUT_OFF)
        snap, state = await read_state(services, actor)
        if not actor.cut:
            await services.recorder.observe(snap)
        after = enabled(model, state, action)
        if after is None:
            return Outcome(False, NOT_ENABLED, state)
        extra, payload = extra_for(snap, state, after) if extra_for else (Extra(), {})
        if actor.cut:
            # Cut off from the store: only fencing can happen, and only here.
            services.recorder.committed(action, actor.node or "runtime", state, after, 0,
                                        None)
            return _done(Outcome(True, "", state, after, 0, snap, payload), on_commit)
        try:
            txn = changes(model, services.keys, snap, state, after,
                          node=actor.index, lease=actor.lease, ttl_ms=services.ttl_ms,
                          extra=extra, every_group=action.group < 0)
        except RecordError as exc:
            log.error("cannot store %s: %s", action, exc)
            return Outcome(False, f"cannot be stored: {exc}", state)
        started = time.monotonic()
        try:
            revision = await services.store.commit(txn)
        except StoreUnavailable:
            # The write may or may not have landed: look before deciding either way.
            revision = await _landed(services, snap.revision, txn)
        if not revision:
            return Outcome(False, RACE, state)
        snap_after = None
        if services.verify:
            snap_after = await services.store.snapshot(services.keys.prefix)
        services.recorder.committed(action, actor.node or "runtime", state, after,
                                    revision, snap_after)
        if time.monotonic() - started > 1.0:
            log.warning("committing %s took %.1f s", action, time.monotonic() - started)
        return _done(Outcome(True, "", state, after, revision, snap, payload), on_commit)


def _done(outcome: Outcome, on_commit: Callable[[Outcome], None] | None) -> Outcome:
    if on_commit is not None:
        on_commit(outcome)
    return outcome


LANDED_ATTEMPTS = 3


async def _landed(services: Services, before: int, txn: Txn) -> int:
    """After a commit whose answer was lost: its revision if it was applied, else 0.

    Applied means every put is there with its value, all at one revision newer than
    the snapshot the step was decided on, and every delete is gone (nobody else writes
    these exact values at one revision). If the store stays out of reach, raise: the
    caller undoes the physical part; a write that landed anyway is then corrected by the
    node's next write of its facts, since its own facts are its own truth."""
    error: StoreError | None = None
    for _ in range(LANDED_ATTEMPTS):
        try:
            snap = await services.store.snapshot(services.keys.prefix)
        except StoreUnavailable as exc:
            error = exc
            continue
        revisions = set()
        for put in txn.puts:
            entry = snap.get(put.key)
            if entry is None or entry.value != put.value:
                return 0
            revisions.add(entry.mod_revision)
        if any(snap.get(key) is not None for key in txn.deletes):
            return 0
        if len(revisions) > 1 or (revisions and min(revisions) <= before):
            return 0
        return revisions.pop() if revisions else snap.revision
    assert error is not None
    raise error
