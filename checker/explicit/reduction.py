"""Partial-order reduction: from a state, follow only a stubborn subset of its actions.

Two actions are *independent* when neither writes what the other reads or writes
(:mod:`crg.checker.explicit.dependency`); then, where both are enabled, they commute and
neither disables the other. A *stubborn set* of a state is closed under that relation:
with each enabled action it holds every action dependent on it, with each disabled one
every action that could enable it. Exploring only the enabled actions of a stubborn set
that holds a step of the cluster service (an *ample* set) skips interleavings that lead
to the same states in another order; SPEC.md section 11 says what that preserves and
why, and what the search adds to make it so: the cycle proviso (a state whose ample set
leads back into the layer at the same or a smaller distance is expanded fully, so every
cycle has a fully expanded state and no action is ignored for ever), liveness decided on
the full system graph around a suspect cycle, and counterexamples searched again without
reduction so that they stay the shortest.

The closure is computed on bitsets over the model's action instances. Every seed — one
enabled step of the cluster service per group — is tried and the smallest ample set kept;
when none is smaller than everything enabled, the state is expanded fully.
"""

from __future__ import annotations

from crg.checker.explicit.dependency import Dependency
from crg.spec import Model, State
from crg.spec.model import Transition

TRIAL = 20_000
"""States (after the warm-up) after which a reduction that skips too few steps is given
up: it costs a closure per state and would save nothing (see SPEC.md section 11 on why
node events leave little to reduce)."""
WORTH = 0.10
"""The share of the steps offered in the trial that the ample sets must have skipped for
the reduction to go on. Below it, it skips next to nothing, or skips steps whose states
are reached in another order all the same (groups linked by ``avoid`` with only group
events): a closure per state then costs more than the successors it spares (a pair and
a follower with application faults, 1.36 M states either way: 45 s reduced, 27 s not)."""


class Reducer:
    def __init__(self, model: Model, warmup: int = 0) -> None:
        self.model = model
        self.warmup = warmup
        """States expanded in full before the first ample set is sought."""
        self._dependency: Dependency | None = None
        self.reduced = 0
        """States expanded with a proper subset of their actions."""
        self.tried = 0
        self.offered = 0
        self.skipped = 0
        """Steps offered to, and left out by, the ample sets of the trial."""
        self.active = True
        """False once the trial showed that the reduction does not pay."""
        self._memo: dict[tuple[int, int], int] = {}
        """(enabled actions, the groups with a step of the cluster service enabled) ->
        the best ample set: the closure depends on nothing else."""

    def ample(self, state: State, system: list[Transition], environment: list[Transition]
              ) -> tuple[list[Transition], list[Transition]] | None:
        """The transitions of an ample set of ``state`` (None: all of them)."""
        if not self.active:
            return None
        if self.warmup:
            self.warmup -= 1
            return None
        dep = self.dependency
        index = dep.index
        enabled = 0
        for action, _, _ in system:
            enabled |= 1 << index[action]
        for action, _, _ in environment:
            enabled |= 1 << index[action]
        seeds: dict[int, int] = {}
        for action, _, _ in system:
            seeds.setdefault(action.group, index[action])
        key = (enabled, sum(1 << s for s in seeds.values()))
        best = self._memo.get(key)
        if best is None:
            best = enabled
            for seed in seeds.values():
                found = self._closure(seed, enabled, best) & enabled
                if found != enabled and found.bit_count() < best.bit_count():
                    best = found
            self._memo[key] = best
        self.tried += 1
        if self.tried <= TRIAL:
            self.offered += enabled.bit_count()
            self.skipped += enabled.bit_count() - best.bit_count()
            if self.tried == TRIAL and self.skipped < WORTH * self.offered:
                self.active = False
        if best == enabled:
            return None
        self.reduced += 1
        return ([t for t in system if (best >> index[t[0]]) & 1],
                [t for t in environment if (best >> index[t[0]]) & 1])

    @property
    def dependency(self) -> Dependency:
        """Built on first use, after the warm-up."""
        if self._dependency is None:
            self._dependency = Dependency(self.model)
        return self._dependency

    def _closure(self, seed: int, enabled: int, bound: int) -> int:
        """The stubborn set grown from ``seed``; stops early once it holds every action
        of ``bound`` (it cannot beat the best found)."""
        dep = self.dependency
        stubborn = frontier = 1 << seed
        while frontier:
            grown = 0
            while frontier:
                low = frontier & -frontier
                i = low.bit_length() - 1
                grown |= dep.dependent[i] if (enabled >> i) & 1 else dep.enablers[i]
                frontier ^= low
            frontier = grown & ~stubborn
            stubborn |= grown
            if stubborn & bound == bound:
                break
        return stubborn
