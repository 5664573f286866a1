"""The cluster's records in the store, and how they map to the spec's state.

Key layout under ``/crg/<cluster>/``:

==========================  ============  ==================================================
key                         bound to      holds
==========================  ============  ==================================================
``node/<n>``                n's lease     liveness: a node without it is down;
                                          ``{"config": sha256}`` of what it runs
``drained/<n>``             —             an operator drained the node
``owner/<g>``               owner's lease ``{"node", "restarts", "failed", "alerted",
                                          "blocked_alerted"}``: the claim and its tenure
``target/<g>``              target's      switchover target (node name)
``ban/<g>/<n>``             n's lease     n spent g's restart budget
``group/<g>``               —             ``{"announced", "offline", "maintenance",
                                          "stranded_alerted"}`` + bookkeeping
``facts/<n>``               n's lease     what n physically holds: ``{group: [vip, app,
                                          mon, wd]}``
``events/<g>/<k>``          —             g's k-th service event, kept until every
                                          subscriber has it (at most 256 behind)
``acks/<h>/<g>``            —             the last event of g delivered to h's hooks
``config``                  —             the cluster's configuration: ``{"sha256", "config"}``
                                          (runtime/agreement.py)
``lost/<n>``                —             n left unannounced and the operator is told:
                                          ``{"since", "by", "paged"}`` (node_watch.py)
``reset``                   —             the store lost its data and the operator was
                                          told: ``{"since", "by", "why"}`` (ditto)
==========================  ============  ==================================================

The leases do the spec's work: when a node's lease ends, the store deletes in one step its
liveness key, the groups it owns with their tenure (restarts, failure, the alerts of the
episode on that owner), the switchover targets naming it, its bans and its facts —
exactly what ``crash`` does to every group (spec/rules/events.py ``crash_group``), so no
agent ever writes the effect of a crash by hand. The other way round, a node that comes
back ends the alert episodes its return ends in the transaction that registers it
(:mod:`crg.runtime.registration`).

:func:`encode` reads a snapshot into a spec state; :func:`changes` turns a spec step
``before -> after`` into the one transaction that makes the store say ``after``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crg.runtime.store.base import Entry, Lease, Put, Snapshot, Txn
from crg.spec import GroupVars, Model, NodeVars, State

FLAGS = ("vip", "app", "mon", "wd")
"""The physical facts of one group on one node, in halt order reversed."""

Facts = dict[str, frozenset[str]]
"""What one node physically holds: group name -> subset of :data:`FLAGS`."""


class RecordError(Exception):
    """The store holds something the runtime cannot read, or a step the store cannot
    represent: a bug or a foreign writer, never bad user input."""


def unreadable(exc: RecordError) -> str:
    """How a runtime alert says that ``exc`` stops it (the key and the cause are in it)."""
    return f"the store holds a record it cannot read: {exc}"


SHUTDOWN_MARK = "shutdown"
"""Value of ``drained/<node>`` when the node drained itself to stop (not an operator)."""


class Keys:
    def __init__(self, cluster: str) -> None:
        self.prefix = f"/crg/{cluster}/"

    def node(self, node: str) -> str:
        return f"{self.prefix}node/{node}"

    def drained(self, node: str) -> str:
        return f"{self.prefix}drained/{node}"

    def owner(self, group: str) -> str:
        return f"{self.prefix}owner/{group}"

    def target(self, group: str) -> str:
        return f"{self.prefix}target/{group}"

    def ban(self, group: str, node: str) -> str:
        return f"{self.prefix}ban/{group}/{node}"

    def group(self, group: str) -> str:
        return f"{self.prefix}group/{group}"

    def facts(self, node: str) -> str:
        return f"{self.prefix}facts/{node}"

    def events(self, group: str) -> str:
        return f"{self.prefix}events/{group}/"

    def event(self, group: str, seq: int) -> str:
        return f"{self.events(group)}{seq:010d}"

    def ack(self, receiver: str, source: str) -> str:
        return f"{self.prefix}acks/{receiver}/{source}"

    def config(self) -> str:
        return f"{self.prefix}config"

    def lost(self, node: str) -> str:
        return f"{self.prefix}lost/{node}"

    def reset(self) -> str:
        return f"{self.prefix}reset"

    def troubles(self, node: str) -> str:
        """The runtime alerts in force on a node (a step that keeps failing, an alert
        sink that fails...), written by that node under its lease: every node's
        ``crg status`` shows them, not only the one that has them."""
        return f"{self.prefix}troubles/{node}"

    def held(self, group: str) -> str:
        """A failure the group's monitors reported during a maintenance, held (the spec
        charges none): written by the node that saw it, under its lease, so that every
        node's status and metrics say the application failed, not only that node's."""
        return f"{self.prefix}held/{group}"


# -- values ---------------------------------------------------------------------------


def _json(text: str, key: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{key}: not JSON ({exc})") from None


def _object(text: str, key: str) -> dict[str, Any]:
    data = _json(text, key)
    if not isinstance(data, dict):
        raise RecordError(f"{key}: not a JSON object")
    return data


def _field(data: Mapping[str, Any], name: str, kind: type, default: Any, key: str) -> Any:
    """``data[name]`` (``default`` when absent) if it is a ``kind`` (an int is no bool
    here, a float may be an int, a count is not negative)."""
    value = data.get(name, default)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    else:
        ok = isinstance(value, kind)
    if not ok:
        what = {bool: "true or false", int: "a count", float: "a number", str: "a string"}
        raise RecordError(f"{key}: {name} is {json.dumps(value)}, not {what[kind]}")
    return value


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


GROUP_FLAGS = ("announced", "offline", "maintenance", "stranded_alerted")
"""Group variables kept in the group record: they outlive any owner. (The stranded alert
belongs to a stretch with no owner at all; only a node's return or an undrain ends it,
each a transaction that clears it — :mod:`crg.runtime.registration`, the operator's
event.)"""

TENURE_FLAGS = ("failed", "alerted", "blocked_alerted")
"""Group variables kept in the owner record: they end with the owner's lease, as the
spec's ``crash`` and ``expire`` end them."""


@dataclass(frozen=True, slots=True)
class OwnerRecord:
    node: str
    restarts: int
    failed: bool
    alerted: bool = False
    blocked_alerted: bool = False

    def dump(self) -> str:
        return dumps({"node": self.node, "restarts": self.restarts, "failed": self.failed,
                      "alerted": self.alerted, "blocked_alerted": self.blocked_alerted})


def read_owner(snap: Snapshot, keys: Keys, group: str) -> OwnerRecord | None:
    key = keys.owner(group)
    entry = snap.get(key)
    if entry is None:
        return None
    data = _object(entry.value, key)
    if "node" not in data:
        raise RecordError(f"{key}: no node")
    return OwnerRecord(_field(data, "node", str, None, key),
                       _field(data, "restarts", int, 0, key),
                       _field(data, "failed", bool, False, key),
                       _field(data, "alerted", bool, False, key),
                       _field(data, "blocked_alerted", bool, False, key))


def read_group(snap: Snapshot, keys: Keys, group: str) -> dict[str, Any]:
    """The group record; fields not yet written read as false / 0."""
    key = keys.group(group)
    entry = snap.get(key)
    data: dict[str, Any] = {} if entry is None else _object(entry.value, key)
    for flag in GROUP_FLAGS:
        data[flag] = _field(data, flag, bool, False, key)
    data["events"] = _field(data, "events", int, 0, key)
    if data.get("fault_time") is not None:
        data["fault_time"] = _field(data, "fault_time", float, None, key)
    for text in ("fault_node", "fault_reason"):
        if data.get(text) is not None:
            _field(data, text, str, None, key)
    return data


def read_held(snap: Snapshot, keys: Keys, group: str) -> tuple[str, str, float] | None:
    """The failure held for ``group`` (:meth:`Keys.held`): node, reason, when seen."""
    key = keys.held(group)
    entry = snap.get(key)
    if entry is None:
        return None
    data = _object(entry.value, key)
    return (_field(data, "node", str, None, key), _field(data, "reason", str, "", key),
            _field(data, "since", float, 0.0, key))


Troubles = dict[tuple[str, str], tuple[str, float]]
"""(group or "" for the node as a whole, action) -> (reason, since): a node's runtime
alerts in force (:attr:`crg.runtime.machine.Machine.troubles`)."""


def dump_troubles(troubles: Troubles) -> str:
    return dumps([{"group": group or None, "action": action, "reason": reason,
                   "since": since} for (group, action), (reason, since) in sorted(
                       troubles.items())])


def read_troubles(snap: Snapshot, keys: Keys, node: str) -> Troubles:
    """What ``node`` wrote of its runtime alerts in force (:meth:`Keys.troubles`)."""
    key = keys.troubles(node)
    entry = snap.get(key)
    if entry is None:
        return {}
    data = _json(entry.value, key)
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise RecordError(f"{key}: not a list of JSON objects")
    found: Troubles = {}
    for t in data:
        group = t.get("group")
        if group is not None and not isinstance(group, str):
            raise RecordError(f"{key}: group is {json.dumps(group)}, not a string or null")
        found[(group or "", _field(t, "action", str, None, key))] = (
            _field(t, "reason", str, "", key), float(_field(t, "since", float, 0.0, key)))
    return found


def dump_held(node: str, reason: str, since: float) -> str:
    return dumps({"node": node, "reason": reason, "since": since})


def read_facts(snap: Snapshot, keys: Keys, node: str) -> Facts:
    key = keys.facts(node)
    entry = snap.get(key)
    if entry is None:
        return {}
    facts: Facts = {}
    for group, flags in _object(entry.value, key).items():
        if not isinstance(flags, list) or not set(flags) <= set(FLAGS):
            raise RecordError(f"{key}: {group} holds {json.dumps(flags)}, not a list of "
                              f"{', '.join(FLAGS)}")
        facts[group] = frozenset(flags)
    return facts


def dump_facts(facts: Facts) -> str:
    return dumps({g: [f for f in FLAGS if f in flags] for g, flags in sorted(facts.items())
                  if flags})


def read_ack(snap: Snapshot, keys: Keys, receiver: str, source: str) -> int:
    """The last service event of ``source`` that ``receiver`` acknowledged (0: none)."""
    key = keys.ack(receiver, source)
    entry = snap.get(key)
    if entry is None:
        return 0
    if not entry.value.isdigit():
        raise RecordError(f"{key}: {json.dumps(entry.value)} is not an event number")
    return int(entry.value)


def stored_events(snap: Snapshot, keys: Keys, source: str) -> list[tuple[int, str, Entry]]:
    """The service events of ``source`` in the store: (seq, key, entry), by seq."""
    found = []
    for key, entry in snap.under(keys.events(source)).items():
        seq = key.rsplit("/", 1)[1]
        if not seq.isdigit():
            raise RecordError(f"{key}: not a service event (its name is not its number)")
        found.append((int(seq), key, entry))
    return sorted(found, key=lambda event: event[0])


def read_event(key: str, entry: Entry) -> dict[str, Any]:
    """A stored service event's fields."""
    return _object(entry.value, key)


def node_lease(snap: Snapshot, keys: Keys, node: str, ttl_ms: int) -> Lease | None:
    """The lease of a live node, rebuilt from its liveness key (to bind keys to it)."""
    entry = snap.get(keys.node(node))
    return None if entry is None or not entry.lease else Lease(entry.lease, ttl_ms)


# -- snapshot -> spec state -------------------------------------------------------------


def _bit(mask: int, n: int) -> bool:
    return bool((mask >> n) & 1)


def encode(model: Model, keys: Keys, snap: Snapshot, *, me: int | None = None,
           my_facts: Facts | None = None, me_cut: bool = False) -> State:
    """The spec state a snapshot says, seen from node ``me`` (None: from outside).

    Other nodes are up when their liveness key exists and down otherwise: a crashed node
    and one cut off whose lease ran out look the same from here, and the rules only read
    whether a node is live. ``me`` is never down to itself; it is *cut* when its own lease
    cannot be renewed (``me_cut``, or its liveness key is gone). Its physical facts are
    its own (``my_facts``): the store may have lost them with an expired lease.
    """
    nodes = model.topology.nodes
    down = drained = 0
    cut = 0
    for n, name in enumerate(nodes):
        present = snap.get(keys.node(name)) is not None
        if n == me:
            if me_cut or not present:
                cut |= 1 << n
        elif not present:
            down |= 1 << n
        if snap.get(keys.drained(name)) is not None:
            drained |= 1 << n
    facts = [my_facts if n == me and my_facts is not None else read_facts(snap, keys, name)
             for n, name in enumerate(nodes)]
    groups = []
    for topo in model.groups:
        owner = read_owner(snap, keys, topo.name)
        record = read_group(snap, keys, topo.name)
        target_entry = snap.get(keys.target(topo.name))
        masks = dict.fromkeys(FLAGS, 0)
        for n, held in enumerate(facts):
            for flag in held.get(topo.name, ()):
                masks[flag] |= 1 << n
        ban = 0
        for n, name in enumerate(nodes):
            if snap.get(keys.ban(topo.name, name)) is not None:
                ban |= 1 << n
        if owner is not None and owner.restarts > topo.budget:
            raise RecordError(f"{keys.owner(topo.name)}: restarts is {owner.restarts}, more "
                              f"than the budget of {topo.name} ({topo.budget})")
        groups.append(GroupVars(
            owner=_index(nodes, owner.node, keys.owner(topo.name)) + 1 if owner else 0,
            target=(_index(nodes, target_entry.value, keys.target(topo.name)) + 1
                    if target_entry else 0),
            vip=masks["vip"], app=masks["app"], mon=masks["mon"], wd=masks["wd"],
            ban=ban,
            restarts=owner.restarts if owner else 0,
            announced=record["announced"],
            alerted=owner.alerted if owner else False,
            blocked_alerted=owner.blocked_alerted if owner else False,
            stranded_alerted=record["stranded_alerted"],
            failed=owner.failed if owner else False,
            offline=record["offline"],
            maintenance=record["maintenance"],
        ))
    return model.encode(NodeVars(down=down, cut=cut, lost=0, drained=drained), groups)


def _index(nodes: tuple[str, ...], name: str, key: str) -> int:
    try:
        return nodes.index(name)
    except ValueError:
        raise RecordError(f"{key} names an unknown node {name!r}") from None


def facts_of(model: Model, state: State, node: int) -> Facts:
    """What ``state`` says node ``node`` physically holds."""
    out: Facts = {}
    for topo in model.groups:
        gv = model.group_vars(state, topo.index)
        held = frozenset(f for f in FLAGS if _bit(getattr(gv, f), node))
        if held:
            out[topo.name] = held
    return out


# -- spec step -> store transaction -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Extra:
    """Writes a step adds beyond the spec's fields: service events, bookkeeping."""

    record: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per group: fields to set in its group record (e.g. ``fault_time``)."""
    puts: tuple[Put, ...] = ()
    deletes: tuple[str, ...] = ()
    compare: Mapping[str, int] = field(default_factory=dict)
    """Keys read for the step beyond the spec's records (key -> mod_revision): a service
    event's step that drops events compares the receivers' acknowledgements."""


def changes(model: Model, keys: Keys, snap: Snapshot, before: State, after: State, *,
            node: int, lease: Lease | None, ttl_ms: int, extra: Extra | None = None,
            every_group: bool = False) -> Txn:
    """The transaction that takes the store from ``before`` (read from ``snap``) to
    ``after``, for a step performed (or observed) by ``node`` holding ``lease``.

    It compares the revision of every record the step's rules read — liveness and drain
    of every node, the group's own records, the records of the groups it avoids — so it
    fails if any of them changed since the snapshot: the step is then re-decided.
    With ``every_group`` (a node's event: its return, a drain, an undrain), the records
    of every group are compared, changed or not: the event's effect on a group — ending
    an alert episode — is computed from them, so a group left as it was must still be as
    it was when the event lands (a node registering while another raised a stranded
    alert for a group it now hosts left that alert's flag set for ever after: the
    registration read the flag down and, changing nothing there, did not compare it).
    Raises :class:`RecordError` for a change the store cannot express (a crash or a
    partition is a lease event, not a write).
    """
    nodes = model.topology.nodes
    extra = extra or Extra()
    compare: dict[str, int] = {}
    puts: dict[str, Put] = {}
    deletes: list[str] = []

    def read(key: str) -> None:
        entry = snap.get(key)
        compare[key] = entry.mod_revision if entry else 0

    def read_records(group: str) -> None:
        """A group's owner, target, group record and bans: all of it the rules read."""
        for key in (keys.owner(group), keys.target(group), keys.group(group)):
            read(key)
        for node_name in nodes:
            read(keys.ban(group, node_name))

    for name in nodes:
        read(keys.node(name))
        read(keys.drained(name))
    nv0, nv1 = model.node_vars(before), model.node_vars(after)
    if (nv0.down, nv0.cut, nv0.lost) != (nv1.down, nv1.cut, nv1.lost):
        raise RecordError("node liveness changes with leases, not with a write")
    for n, name in enumerate(nodes):
        if _bit(nv0.drained, n) != _bit(nv1.drained, n):
            if _bit(nv1.drained, n):
                puts[keys.drained(name)] = Put(keys.drained(name), "1")
            else:
                deletes.append(keys.drained(name))

    my_facts_changed = False
    for topo in model.groups:
        g0, g1 = model.group_vars(before, topo.index), model.group_vars(after, topo.index)
        record_meta = dict(extra.record.get(topo.name, {}))
        if g0 == g1 and not record_meta:
            if every_group:
                read_records(topo.name)
            continue
        name = topo.name
        read_records(name)
        for other in topo.avoid:
            # what the rules read of an avoided group (AvoidedVars): its owner, target,
            # bans and maintenance flag (kept in its group record)
            read_records(model.groups[other].name)
        for n, node_name in enumerate(nodes):
            for flag in FLAGS:
                if _bit(getattr(g0, flag), n) != _bit(getattr(g1, flag), n):
                    if n != node:
                        raise RecordError(f"{flag} of {name} changed on {node_name}, "
                                          f"not on the acting node {nodes[node]}")
                    my_facts_changed = True
        _owner_ops(keys, snap, name, nodes, g0, g1, puts, deletes, ttl_ms)
        if g0.target != g1.target:
            if g1.target:
                target_node = nodes[g1.target - 1]
                target_lease = node_lease(snap, keys, target_node, ttl_ms)
                if target_lease is None:
                    raise RecordError(f"switchover target {target_node} is not live")
                puts[keys.target(name)] = Put(keys.target(name), target_node, target_lease)
            else:
                deletes.append(keys.target(name))
        for n, node_name in enumerate(nodes):
            if _bit(g0.ban, n) == _bit(g1.ban, n):
                continue
            key = keys.ban(name, node_name)
            if _bit(g1.ban, n):
                ban_lease = node_lease(snap, keys, node_name, ttl_ms)
                if ban_lease is None:
                    raise RecordError(f"cannot ban {name} on {node_name}: not live")
                puts[key] = Put(key, "1", ban_lease)
            else:
                deletes.append(key)
        if record_meta or any(getattr(g0, f) != getattr(g1, f) for f in GROUP_FLAGS):
            record = read_group(snap, keys, name)
            record.update({f: bool(getattr(g1, f)) for f in GROUP_FLAGS})
            record.update(record_meta)
            puts[keys.group(name)] = Put(keys.group(name), dumps(record))

    if my_facts_changed:
        if lease is None:
            raise RecordError("facts are bound to the acting node's lease")
        puts[keys.facts(nodes[node])] = Put(keys.facts(nodes[node]),
                                            dump_facts(facts_of(model, after, node)), lease)
    for key, revision in extra.compare.items():
        compare.setdefault(key, revision)
    for put in extra.puts:
        puts[put.key] = put
    deletes.extend(extra.deletes)
    return Txn(compare, tuple(puts.values()), tuple(dict.fromkeys(deletes)))


def _owner_ops(keys: Keys, snap: Snapshot, name: str, nodes: tuple[str, ...],
               g0: GroupVars, g1: GroupVars, puts: dict[str, Put], deletes: list[str],
               ttl_ms: int) -> None:
    tenure0 = (g0.owner, g0.restarts, *(bool(getattr(g0, f)) for f in TENURE_FLAGS))
    tenure1 = (g1.owner, g1.restarts, *(bool(getattr(g1, f)) for f in TENURE_FLAGS))
    if tenure0 == tenure1:
        return
    key = keys.owner(name)
    if not g1.owner:
        if g1.restarts or any(getattr(g1, f) for f in TENURE_FLAGS):
            raise RecordError(f"{name}: restarts, a failure or an alert without an owner "
                              "cannot be stored")
        deletes.append(key)
        return
    if g0.owner and g0.owner != g1.owner:
        raise RecordError(f"{name}: ownership moved between nodes in one step")
    owner = nodes[g1.owner - 1]
    owner_lease = node_lease(snap, keys, owner, ttl_ms)
    if owner_lease is None:
        raise RecordError(f"{name}: owner {owner} is not live")
    record = OwnerRecord(owner, int(g1.restarts), bool(g1.failed), bool(g1.alerted),
                         bool(g1.blocked_alerted))
    puts[key] = Put(key, record.dump(), owner_lease)
