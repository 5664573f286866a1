"""One configuration across hosts: agents agree on it through the store.

Every node's liveness key (``node/<n>``, bound to its lease) carries the fingerprint of
the configuration it runs (:mod:`crg.runtime.fingerprint`), and the key ``config``
holds the canonical form of the configuration the running cluster uses, so that a
difference can be named, not only detected. Both are written by one transaction when a
node registers (:func:`register`), which also compares the ``config`` key: two agents
with different configurations starting at the same moment cannot both get in.

* An agent whose configuration differs from the one a live node runs refuses to start
  (:class:`ConfigConflict`: exit 2, both fingerprints and the first difference named) —
  unless the two differ only in what hosts may run otherwise for a while
  (:data:`crg.runtime.fingerprint.ROLLING`: applications, monitors, alerts, hooks): a
  rolling change, one host after another, which each node's ``core`` fingerprint tells;
  one at a time: a third revision while two run is refused too.
* With no live node (the whole cluster was stopped), the first agent to register sets
  the cluster's configuration: that is how its core is changed.
* A running agent that sees a live node with another fingerprint (one that registered
  while it was cut off, say) raises a runtime alert, once while it lasts
  (:class:`ConfigWatch`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crg.runtime.fingerprint import core, core_digest, dumps, first_difference, short
from crg.runtime.records import Keys
from crg.runtime.store.base import Lease, Put, Snapshot, Store, Txn

log = logging.getLogger("crg.runtime")

REGISTER_ATTEMPTS = 10
"""Registrations lost to another agent's registering at the same moment, before giving
up (each loss means the store changed: the next attempt sees the newcomer)."""


class ConfigConflict(Exception):
    """This configuration differs from the one the running cluster uses."""


def node_record(sha256: str, form: dict[str, Any]) -> str:
    """The value of a node's liveness key: the fingerprint of the configuration it runs
    (canonical form ``form``), and of its core."""
    return dumps({"config": sha256, "core": core_digest(form)})


def node_config(value: str, field: str = "config") -> str | None:
    """The fingerprint a liveness key carries (``field`` "core": of its core); None:
    written by a crg that did not publish one."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    sha = data.get(field) if isinstance(data, dict) else None
    return sha if isinstance(sha, str) else None


def live_configs(snap: Snapshot, keys: Keys, field: str = "config") -> dict[str, str | None]:
    """Live node -> the fingerprint of the configuration it runs (``field`` "core": of
    its core)."""
    prefix = keys.node("")
    return {key.removeprefix(prefix): node_config(entry.value, field)
            for key, entry in sorted(snap.under(prefix).items())}


def rolling(snap: Snapshot, keys: Keys, node: str, sha256: str,
            form: dict[str, Any]) -> dict[str, str]:
    """The live nodes but ``node`` that run another configuration with the same core (a
    rolling change under way): node -> its fingerprint."""
    cores, mine = live_configs(snap, keys, "core"), core_digest(form)
    return {n: c for n, c in live_configs(snap, keys).items()
            if n != node and c is not None and c != sha256 and cores.get(n) == mine}


def running_config(snap: Snapshot, keys: Keys) -> tuple[str, dict[str, Any]] | None:
    """(fingerprint, canonical form) of the cluster's configuration, as stored."""
    entry = snap.get(keys.config())
    if entry is None:
        return None
    try:
        data = json.loads(entry.value)
        return str(data["sha256"]), dict(data["config"])
    except (ValueError, KeyError, TypeError):
        return None


def conflict(snap: Snapshot, keys: Keys, node: str, sha256: str,
             form: dict[str, Any]) -> str | None:
    """Why ``node`` with this configuration may not join the live nodes of ``snap``
    (None: it may). Its own key is not counted."""
    others = {n: c for n, c in live_configs(snap, keys).items() if n != node}
    along = rolling(snap, keys, node, sha256, form)
    differing = {n: c for n, c in others.items()
                 if c is not None and c != sha256 and n not in along}
    if not differing:
        return _third_revision(node, sha256, along)
    # The nodes of one core, the stored configuration's if they run it: during a rolling
    # change they may run several revisions of it, and the store holds the form of the
    # last node that registered; the core is what this one differs in.
    cores = live_configs(snap, keys, "core")
    running = running_config(snap, keys)
    stored = core_digest(running[1]) if running is not None else None
    core_of = stored if stored in (cores.get(n) for n in differing) else cores.get(
        min(differing, key=lambda n: differing[n]))
    nodes = sorted(n for n in differing if cores.get(n) == core_of) or sorted(differing)
    shas = sorted({differing[n] for n in nodes})
    theirs = running[0] if running is not None and running[0] in shas else shas[0]
    where = f"in the running cluster ({', '.join(nodes)})"
    if running is not None and core_of is not None and stored == core_of:
        detail = first_difference(core(form), core(running[1]), where)
    elif running is not None and running[0] == theirs:  # nodes that publish no core
        detail = first_difference(form, running[1], where)
    else:
        detail = "(the running cluster's configuration is not in the store to compare)"
    return (f"{node}'s configuration (sha256 {short(sha256)}) differs from the one the "
            f"running cluster uses (sha256 {short(theirs)}, run by {', '.join(nodes)}); "
            f"first difference: {detail}. Every host must run the same configuration: "
            "give this one the file the others run, or stop every agent and start them "
            "all with the new one (a change of applications, monitors, alerts or hooks "
            "only may be rolled out one host at a time)")


def _third_revision(node: str, sha256: str, along: dict[str, str]) -> str | None:
    """Why ``node`` may not join a rolling change from one revision to another with a
    third (None: it is one of the two, or no change is under way). Two revisions at a
    time keep a change one host after another something an operator can follow — and
    undo: the hosts run the old file or the new one."""
    if len(set(along.values())) < 2:
        return None
    return (f"{node}'s configuration (sha256 {short(sha256)}) would be a third revision "
            f"in a rolling change under way: {_others_run(along)}. Roll out one change at "
            "a time: give this host the file one of them runs, and change it again once "
            "every host runs one revision")


def _others_run(along: dict[str, str]) -> str:
    """``n3 runs 02e4314a6752 (the same but for ...)``: the nodes of a rolling change."""
    return (", ".join(f"{n} runs {short(c)}" for n, c in sorted(along.items()))
            + " (the same but for applications, monitors, alerts or hooks)")


@dataclass(frozen=True)
class Registered:
    revision: int


async def register(store: Store, keys: Keys, node: str, lease: Lease, sha256: str,
                   form: dict[str, Any],
                   effects: Callable[[Snapshot], Txn] | None = None) -> Registered | None:
    """Create ``node``'s liveness key (bound to ``lease``, carrying ``sha256``) and set
    the cluster's configuration to ``form``, in one transaction that fails if another
    agent registered meanwhile; ``effects`` adds what the node's return changes in the
    records of a snapshot (:func:`crg.runtime.registration.rejoin_txn`). None: the key is
    held by a live lease (an earlier run of this node); raises :class:`ConfigConflict`
    when a live node runs another configuration, StoreError when the store cannot be
    used."""
    record = dumps({"sha256": sha256, "config": form})
    for _ in range(REGISTER_ATTEMPTS):
        snap = await store.snapshot(keys.prefix)
        if snap.get(keys.node(node)) is not None:
            return None
        why = conflict(snap, keys, node, sha256, form)
        if why is not None:
            raise ConfigConflict(why)
        running = running_config(snap, keys)
        # Joining a rolling change is said by the agent's ConfigWatch, at its first look
        # (said here too, it came twice in a row).
        if not rolling(snap, keys, node, sha256, form) and running is not None \
                and running[0] != sha256:
            log.warning("%s: no live node runs the cluster's configuration (sha256 %s) any "
                        "more: it becomes this one (sha256 %s)", node, short(running[0]),
                        short(sha256))
        config_entry = snap.get(keys.config())
        extra = effects(snap) if effects is not None else Txn({}, (), ())
        txn = Txn({**extra.compare, keys.node(node): 0,
                   keys.config(): config_entry.mod_revision if config_entry else 0},
                  (*extra.puts, Put(keys.node(node), node_record(sha256, form), lease),
                   Put(keys.config(), record)), extra.deletes)
        revision = await store.commit(txn)
        if revision:
            return Registered(revision)
    raise ConfigConflict(f"{node} could not register: {REGISTER_ATTEMPTS} attempts in a row "
                         "lost to other agents registering at the same moment")


class ConfigWatch:
    """Raises a runtime alert while some live node runs another configuration."""

    def __init__(self, keys: Keys, node: str, sha256: str, form: dict[str, Any],
                 alert: Callable[[str], None], over: Callable[[], None]) -> None:
        self.keys = keys
        self.node = node
        self.sha256 = sha256
        self.form = form
        self.alert = alert
        self.over = over
        self._seen: tuple[tuple[str, str | None], ...] | None = None
        self.problem: str | None = None
        self._along: dict[str, str] | None = None
        """The other nodes of a rolling change at the last look (None: no look yet)."""

    def check(self, snap: Snapshot) -> None:
        seen = tuple(live_configs(snap, self.keys).items())
        if seen == self._seen:
            return
        self._seen = seen
        along = rolling(snap, self.keys, self.node, self.sha256, self.form)
        if along != (self._along or {}):
            # Nothing to page: hosts may run these otherwise for a while (the operator
            # is changing them one host after another); said in the log and crg status.
            joins = "joins " if self._along is None else ""
            log.info("%s: %s", self.node, "every live node runs this configuration again"
                     if not along else f"{joins}a rolling change of the configuration: it "
                     f"runs sha256 {short(self.sha256)}, {_others_run(along)}")
        self._along = along
        problem = conflict(snap, self.keys, self.node, self.sha256, self.form)
        if problem is not None and problem != self.problem:
            self.alert(problem)
        elif problem is None and self.problem is not None:
            log.info("%s: every live node runs this configuration again", self.node)
            self.over()
        self.problem = problem
