"""The store layout says exactly what the spec says (runtime/records.py).

A random walk over the spec's transitions, with the memory store underneath: every step
is written the way the runtime writes it (``changes`` for a step, a lease for a crash,
``register`` for a rejoin), and after every step the store, read back with ``encode``,
must be the spec's next state — for every kind of step the runtime performs.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from crg.dsl import Fault, parse
from crg.runtime.records import (
    Keys,
    RecordError,
    changes,
    encode,
    read_ack,
    read_event,
    stored_events,
)
from crg.runtime.registration import register, rejoin_txn, with_liveness
from crg.runtime.store.base import Lease, Put, Snapshot, Txn
from crg.runtime.store.memory import MemoryStore
from crg.spec import KINDS, Action, ActionKind, Model

ROOT = Path(__file__).resolve().parents[2]
WALKED = frozenset(ActionKind) - {ActionKind.PARTITION, ActionKind.HEAL, ActionKind.EXPIRE,
                                  ActionKind.FENCE, ActionKind.WATCHDOG_CLEAN}
"""Everything but the partition family: a cut-off node cannot write to the store (that
is the multi-host runtime's fencing, checked in tests/integration), and a watchdog only
finds something to clean on a node that was cut off (a crash takes everything)."""


TOUCHY = """
cluster touchy {
  nodes n1 n2
}
group g {
  vip 10.0.0.1/24
  app { start "/bin/true" }
  monitor process
  preferred n1
  possible n2
  restarts 0 within 1m
}
"""


def walk(config_text: str, seed: int, steps: int) -> set[ActionKind]:
    config = parse(config_text)
    model = Model.from_config(config, max_down=len(config.cluster.nodes),
                              faults=frozenset(Fault))
    keys = Keys(config.cluster.name)
    rng = random.Random(seed)
    seen: set[ActionKind] = set()

    async def body() -> None:
        store = MemoryStore()
        leases: dict[int, Lease] = {}
        for n, name in enumerate(model.topology.nodes):
            leases[n] = await store.grant(3_600_000)
            await store.create(keys.node(name), "up", leases[n])
        state = model.initial()
        for _ in range(steps):
            options = [(a, t) for a, t in model.successors(state) if a.kind in WALKED]
            # Favour the cluster service so groups get somewhere between events.
            system = [o for o in options if KINDS[o[0].kind].system]
            action, after = rng.choice(system if system and rng.random() < 0.8 else options)
            snap = await store.snapshot(keys.prefix)
            assert encode(model, keys, snap) == state
            name = model.topology.nodes[action.node] if action.node >= 0 else None
            if action.kind is ActionKind.CRASH:
                await store.revoke(leases.pop(action.node))
            elif action.kind is ActionKind.REJOIN:
                # the return ends alert episodes: registered in one transaction with it
                assert name is not None
                leases[action.node] = await store.grant(3_600_000)
                assert await register(store, model, keys, name, "up", leases[action.node],
                                      3_600_000)
            else:
                txn = changes(model, keys, snap, state, after, node=action.node,
                              lease=leases.get(action.node), ttl_ms=3_600_000)
                assert await store.commit(txn)
            seen.add(action.kind)
            state = after
        assert encode(model, keys, await store.snapshot(keys.prefix)) == state

    asyncio.run(body())
    return seen


def test_the_store_says_what_the_spec_says() -> None:
    seen: set[ActionKind] = set()
    for example in ("quickstart.crg", "rac.crg", "web-tier.crg"):
        for seed in range(3):
            seen |= walk((ROOT / "examples" / example).read_text(), seed, 300)
    # one that gets blocked often: no restart allowed, one standby
    for seed in range(3):
        seen |= walk(TOUCHY, seed, 300)
    # Honest only if every kind the runtime writes was exercised.
    assert seen == WALKED, sorted(k.label for k in WALKED - seen)


def test_a_stale_step_does_not_commit() -> None:
    config = parse((ROOT / "examples" / "quickstart.crg").read_text())
    model = Model.from_config(config)
    keys = Keys(config.cluster.name)

    async def body() -> None:
        store = MemoryStore()
        leases = []
        for name in model.topology.nodes:
            lease = await store.grant(60_000)
            await store.create(keys.node(name), "up", lease)
            leases.append(lease)
        snap = await store.snapshot(keys.prefix)
        state = encode(model, keys, snap)
        claim = next(a for a in model.decide(state, 0) if a.kind is ActionKind.CLAIM)
        after = model.apply(state, claim)
        txn = changes(model, keys, snap, state, after, node=0, lease=leases[0], ttl_ms=60_000)
        # Meanwhile an operator drains n1: the claim's inputs changed, it must not land.
        await store.commit(Txn({}, (Put(keys.drained("n1"), "1"),)))
        assert await store.commit(txn) == 0
        assert (await store.snapshot(keys.owner("web"))).get(keys.owner("web")) is None

    asyncio.run(body())


STRANDABLE = """
cluster strandable {
  nodes n1 n2 n3
}
group g {
  vip 10.0.0.1/24
  app { start "/bin/true" }
  monitor process
  preferred n1
  possible n2
}
"""


def test_a_return_does_not_land_on_an_alert_raised_meanwhile() -> None:
    # Only n3 is up: g has no node left, and n3 raises its stranded alert while n1
    # registers. The registration, read before the alert, must not land after it: it
    # would leave the flag raised with n1 back (and the next episode without an alert).
    config = parse(STRANDABLE)
    model = Model.from_config(config)
    keys = Keys(config.cluster.name)

    async def body() -> None:
        store = MemoryStore()
        n3 = await store.grant(60_000)
        await store.create(keys.node("n3"), "up", n3)
        snap = await store.snapshot(keys.prefix)
        state = encode(model, keys, snap)
        [alert] = [a for a in model.decide(state, 2) if a.kind is ActionKind.ALERT_STRANDED]
        n1 = await store.grant(60_000)
        returning = with_liveness(rejoin_txn(model, keys, snap, "n1", n1, 60_000),
                                  keys.node("n1"), "up", n1)
        raised = changes(model, keys, snap, state, model.apply(state, alert), node=2,
                         lease=n3, ttl_ms=60_000)
        assert await store.commit(raised)
        assert await store.commit(returning) == 0, "registered on a flag it read down"
        assert await register(store, model, keys, "n1", "up", n1, 60_000)
        now = encode(model, keys, await store.snapshot(keys.prefix))
        assert not model.group_vars(now, 0).stranded_alerted

    asyncio.run(body())


def test_a_crash_is_not_a_write() -> None:
    config = parse((ROOT / "examples" / "quickstart.crg").read_text())
    model = Model.from_config(config)
    keys = Keys(config.cluster.name)

    async def body() -> None:
        store = MemoryStore()
        for name in model.topology.nodes:
            await store.create(keys.node(name), "up", await store.grant(60_000))
        snap = await store.snapshot(keys.prefix)
        state = encode(model, keys, snap)
        crashed = model.apply(state, Action(ActionKind.CRASH, -1, 0))
        with pytest.raises(RecordError, match="leases"):
            changes(model, keys, snap, state, crashed, node=-1, lease=None, ttl_ms=60_000)

    asyncio.run(body())


def spoilt(keys: Keys, suffix: str, value: str) -> Snapshot:
    """The store's snapshot once a foreign writer put ``value`` at ``suffix`` of the
    cluster's keys."""
    async def put() -> Snapshot:
        store = MemoryStore()
        await store.put(keys.prefix + suffix, value)
        return await store.snapshot(keys.prefix)

    return asyncio.run(put())


@pytest.mark.parametrize(("suffix", "value", "message"), [
    ("owner/g", "garbage{", "owner/g: not JSON (Expecting value"),
    ("owner/g", "null", "owner/g: not a JSON object"),
    ("owner/g", "[1]", "owner/g: not a JSON object"),
    ("owner/g", '{"restarts": 0}', "owner/g: no node"),
    ("owner/g", '{"node": 5}', "owner/g: node is 5, not a string"),
    ("owner/g", '{"node": "n9"}', "owner/g names an unknown node 'n9'"),
    ("owner/g", '{"node": "n1", "restarts": "x"}', 'owner/g: restarts is "x", not a count'),
    ("owner/g", '{"node": "n1", "restarts": -3}', "owner/g: restarts is -3, not a count"),
    ("owner/g", '{"node": "n1", "restarts": 99999}',
     "owner/g: restarts is 99999, more than the budget of g (0)"),
    ("owner/g", '{"node": "n1", "failed": 1}', "owner/g: failed is 1, not true or false"),
    ("group/g", '{"events": true}', "group/g: events is true, not a count"),
    ("group/g", '{"offline": "yes"}', 'group/g: offline is "yes", not true or false'),
    ("group/g", '{"fault_time": "noon"}', 'group/g: fault_time is "noon", not a number'),
    ("facts/n1", '{"g": ["vip", "disk"]}',
     'facts/n1: g holds ["vip", "disk"], not a list of vip, app, mon, wd'),
    ("facts/n1", '{"g": "vip"}', 'facts/n1: g holds "vip", not a list of vip, app, mon, wd'),
    ("target/g", "n7", "target/g names an unknown node 'n7'"),
])
def test_a_record_another_writer_spoilt_is_named_with_its_fault(
        suffix: str, value: str, message: str) -> None:
    """Whatever shape a foreign writer left (the runtime tells the operator; nothing it
    reads may turn into a TypeError, a wrong state or a state the spec cannot have)."""
    config = parse(TOUCHY)
    keys = Keys(config.cluster.name)
    with pytest.raises(RecordError) as raised:
        encode(Model.from_config(config), keys, spoilt(keys, suffix, value))
    assert str(raised.value).startswith(keys.prefix + message), str(raised.value)


@pytest.mark.parametrize(("suffix", "value", "message"), [
    ("acks/g/g", "zz", 'acks/g/g: "zz" is not an event number'),
    ("acks/g/g", "-1", 'acks/g/g: "-1" is not an event number'),
    ("events/g/latest", "{}", "events/g/latest: not a service event"),
    ("events/g/0000000002", "garbage", "events/g/0000000002: not JSON"),
])
def test_a_spoilt_service_event_or_acknowledgement_is_named(
        suffix: str, value: str, message: str) -> None:
    keys = Keys("touchy")
    snap = spoilt(keys, suffix, value)
    with pytest.raises(RecordError) as raised:
        read_ack(snap, keys, "g", "g")
        for _, key, entry in stored_events(snap, keys, "g"):
            read_event(key, entry)
    assert str(raised.value).startswith(keys.prefix + message), str(raised.value)
