"""The compiled rules (spec/compiler.py) are the interpreted rules, transition by transition.

Every transition, step problem and state-invariant verdict of the compiled model must be
identical to the reference interpretation with the concrete algebra, on states reached
by a seeded random exploration of every example with every kind of event enabled.
"""

from __future__ import annotations

import random
from collections import deque
from pathlib import Path

import pytest

from crg.dsl import load
from crg.dsl.model import Fault
from crg.spec.model import Model
from crg.spec.vocabulary.topology import Topology

EXAMPLES = sorted(Path(__file__).parents[2].joinpath("examples").glob("**/*.crg"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_compiled_equals_interpreted(path: Path) -> None:
    topology = Topology.from_config(load(path), faults=frozenset(Fault))
    compiled = Model(topology)
    interpreted = Model(topology, compiled=False, memo=False)
    rng = random.Random(path.stem)
    start = compiled.initial()
    seen, queue, compared = {start}, deque([start]), 0
    while queue and compared < 600:
        state = queue.popleft()
        compared += 1
        # the same transitions in the same order: the checker's traces depend on it
        assert compiled.system_transitions(state) == interpreted.system_transitions(state)
        assert (compiled.environment_transitions(state)
                == interpreted.environment_transitions(state))
        for quiescent in (False, True):
            assert sorted(compiled.state_problems(state, quiescent)) == sorted(
                interpreted.state_problems(state, quiescent))
        successors = compiled.successors(state)
        rng.shuffle(successors)
        for _, after in successors:
            if after not in seen:
                seen.add(after)
                queue.append(after)
    assert compared == 600 or not queue


def test_generated_source_is_kept_for_inspection() -> None:
    model = Model.from_config(load(EXAMPLES[0]))
    source = model.evaluator.code[0].source
    assert source.startswith("def system_0(nodes_part, part, av):")
    compile(source, "<check>", "exec")
