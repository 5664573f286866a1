"""Random event sequences on every example, every invariant checked (hypothesis stateful).

The machine holds a settled state of the cluster. Each rule lets the environment choose an
event within the config's assumptions (``Model.environment_transitions``), then lets the
cluster service settle: either in the model's fixed order (as ``crg simulate``) or in a
random interleaving of the enabled steps (as several agents racing would). Checked:

* every step (event or service step) breaks no step invariant;
* every state on the way keeps the *always* invariants;
* every settled state keeps all of them (the *quiescent* ones included);
* settling ends (no livelock) within a generous bound.

Bounded (examples, steps per example, steps per settling) so the file runs in seconds.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from spec_helpers import EXAMPLES, EXAMPLES_DIR

from crg.dsl import load
from crg.spec import Model, State
from crg.spec.model import Transition
from crg.spec.present.modes import describe

SETTLE_BOUND = 2_000
"""Service steps allowed to settle after one event (a few dozen are typical)."""

SETTINGS = settings(max_examples=75, stateful_step_count=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
FIND = settings(SETTINGS, phases=[Phase.generate], database=None)
"""For the broken examples: a failure is expected, no need to shrink or remember it."""

_SCHEDULES = st.one_of(st.none(), st.integers(min_value=0, max_value=2**16))
"""None: the model's fixed order; an int: the seed of a random interleaving."""


def machine_for(model: Model) -> type[RuleBasedStateMachine]:
    class ClusterMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.m = model
            self.state: State = model.initial()

        def check_step(self, transition: Transition) -> None:
            action, after, problems = transition
            assert not problems, f"{describe(self.m, action)}: {problems}"
            broken = self.m.state_problems(after, False)
            assert not broken, f"after {describe(self.m, action)}: {self.named(broken)}"

        def named(self, problems: list[tuple[str, int]]) -> list[tuple[str, str]]:
            return [(name, self.m.groups[g].name) for name, g in problems]

        def settle(self, schedule: int | None) -> None:
            rng = None if schedule is None else random.Random(schedule)
            for _ in range(SETTLE_BOUND):
                transitions = self.m.system_transitions(self.state)
                if not transitions:
                    return
                chosen = transitions[0] if rng is None else rng.choice(transitions)
                self.check_step(chosen)
                self.state = chosen[1]
            raise AssertionError(f"the service did not settle within {SETTLE_BOUND} steps")

        @initialize(schedule=_SCHEDULES)
        def start(self, schedule: int | None) -> None:
            self.settle(schedule)

        @rule(data=st.data(), schedule=_SCHEDULES)
        def event(self, data: st.DataObject, schedule: int | None) -> None:
            transitions = self.m.environment_transitions(self.state)
            assert transitions, "no environment event is possible"
            index = data.draw(st.integers(0, len(transitions) - 1), label="event")
            data.draw(st.just(describe(self.m, transitions[index][0])), label="which is")
            self.check_step(transitions[index])
            self.state = transitions[index][1]
            self.settle(schedule)

        @invariant()
        def settled_state_keeps_every_invariant(self) -> None:
            assert self.m.is_quiescent(self.state)
            broken = self.m.state_problems(self.state, True)
            assert not broken, self.named(broken)

    return ClusterMachine


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_random_events_keep_every_invariant(example: Path) -> None:
    model = Model.from_config(load(str(example)))
    run_state_machine_as_test(machine_for(model), settings=SETTINGS)


@pytest.mark.parametrize("example", sorted((EXAMPLES_DIR / "broken").glob("*.crg")),
                         ids=lambda p: p.name)
def test_the_machine_finds_what_is_wrong_with_the_broken_examples(example: Path) -> None:
    # Each broken example breaks an invariant (or settling) within a few events: the
    # machine above must be able to notice, or its passing would mean nothing.
    model = Model.from_config(load(str(example)))
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine_for(model), settings=FIND)
