"""The fast layer of the model never hides an enabled action (white-box).

The interpreted model asks each rule only on the nodes that can perform it
(``crg.spec.fast.performers``: read off the rules with the owner fixed — only the owner
can halt, anyone may claim a free group...). That is a shortcut: every guard must imply
it. Here the shortcut is compared with evaluating every rule on every node
(``exhaustive=True``), for the system and the environment rules, on states reached by
random walks of every example (with every event allowed, any number of nodes down) and
on arbitrary well-formed group states.
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest
from spec_helpers import ALL_EXAMPLES, EXAMPLES_DIR

from crg.dsl import Fault, load
from crg.spec import GroupVars, Model, NodeVars, State, Topology
from crg.spec.rules.registry import ENV_GROUP_KINDS, SYSTEM_GROUP_KINDS

WALKS = 12
WALK_LENGTH = 60
RANDOM_STATES = 150


def unrestricted(path: Path) -> Model:
    t = Topology.from_config(load(str(path)))
    return Model(Topology(t.nodes, t.groups, t.n_nodes, frozenset(Fault)))


def reachable(m: Model, seed: int) -> list[State]:
    """States met on random walks; settling steps are taken more often than events, so
    that the walks see the middle of run and halt methods as well as settled states."""
    rng = random.Random(seed)
    seen: dict[State, None] = {}
    for _ in range(WALKS):
        state = m.initial()
        for _ in range(WALK_LENGTH):
            seen[state] = None
            system = m.system_successors(state)
            env = m.environment_successors(state)
            choices = system if system and (rng.random() < 0.8 or not env) else env
            if not choices:
                break
            state = rng.choice(choices)[1]
    return list(seen)


def arbitrary(m: Model, seed: int) -> list[State]:
    """Well-formed but otherwise arbitrary states: the owner names a node or none, the
    switchover target a candidate or none (the only targets the switchover event sets,
    and the placement trusts it), the restart count fits the budget; masks are
    anything."""
    rng = random.Random(seed)
    n = m.n_nodes
    states = []
    for _ in range(RANDOM_STATES):
        nodes = NodeVars(*(rng.getrandbits(n) if rng.random() < 0.3 else 0
                           for _ in NodeVars._fields))
        groups = []
        for topo in m.groups:
            masks = {f: rng.getrandbits(n) if rng.random() < 0.5 else 0
                     for f in ("vip", "app", "mon", "wd", "ban")}
            groups.append(GroupVars(
                owner=rng.randint(0, n), target=rng.choice([0, *(c + 1 for c in topo.candidates)]),
                restarts=rng.randint(0, topo.budget),
                announced=rng.random() < 0.5, alerted=rng.random() < 0.5,
                blocked_alerted=rng.random() < 0.3,
                    stranded_alerted=rng.random() < 0.3,
                failed=rng.random() < 0.3, offline=rng.random() < 0.2,
                maintenance=rng.random() < 0.2, **masks))
        states.append(m.encode(nodes, groups))
    return states


def compare(m: Model, states: list[State]) -> int:
    checked = 0
    layout = m.layout
    for state in states:
        nodes_part = layout.nodes_part(state)
        for g in range(len(m.groups)):
            part = layout.group_part(state, g)
            key = m.avoid_key(state, g)
            for kinds in (SYSTEM_GROUP_KINDS, ENV_GROUP_KINDS):
                fast = m.evaluator.interpret(g, nodes_part, part, key, kinds)
                full = m.evaluator.interpret(g, nodes_part, part, key, kinds, exhaustive=True)
                assert sorted(fast) == sorted(full), (
                    f"{m.groups[g].name} in {m.view(state, g)}: fast layer "
                    f"{sorted(a for a, _, _ in fast)} != {sorted(a for a, _, _ in full)}")
                checked += len(full)
    return checked


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_performers_never_hide_an_enabled_action_in_reachable_states(example: Path) -> None:
    m = unrestricted(example)
    states = reachable(m, seed=zlib.crc32(example.name.encode()))
    assert len(states) > 50
    assert compare(m, states) > 0


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_performers_never_hide_an_enabled_action_in_arbitrary_states(example: Path) -> None:
    m = unrestricted(example)
    assert compare(m, arbitrary(m, seed=7)) > 0
