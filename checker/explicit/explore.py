"""The search: breadth-first exploration in layers of environment events (0-1 BFS).

System steps (the cluster service, lease expiry) cost 0 and environment events (faults,
commands) cost 1. States are found in layers: layer *f* holds the states that need *f*
events at least, and each layer is closed under system steps before the next one starts.
Inside a layer the order is breadth-first by steps, with the seeds of the layer (targets
of events from the layer before) merged in by their distance, so every state's parent
pointer lies on a path that is shortest in events first, then in steps — what an operator
wants of a counterexample ("it takes one crash and then...").

A system step never leads to a later layer, so the system-only graph's strongly connected
components never span layers: liveness (:mod:`crg.checker.explicit.liveness`) is decided layer by
layer, and a livelock reachable without any failure is reported after layer 0, without
exploring the rest.

Memory: states are the model's packed ints in a set and a list (in discovery order),
parents and distances are 4-byte arrays, so a state costs its int, one set slot, one list
slot and 8 bytes. System edges are kept for the current layer only.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from crg.checker.budget import process_memory
from crg.checker.explicit.reduction import Reducer
from crg.checker.options import Progress
from crg.spec import LIVENESS, Action, Model, State
from crg.spec.model import Transition

NO_PARENT = 0xFFFFFFFF
"""Parent of the initial state."""

Canon = Callable[[State], State]

_PROGRESS_EVERY = 4096


@dataclass(slots=True)
class Found:
    """The best (shortest) violation of one property found so far, as search indices."""

    name: str
    liveness: bool
    cost: tuple[int, int]
    """(environment events, steps) of the whole counterexample."""
    kind: str
    """``state``, ``step`` or ``liveness``."""
    index: int
    """``state``: the violating state; ``step``: its source; ``liveness``: unused."""
    group: int
    detail: str
    states: int
    seconds: float
    action: Action | None = None
    target: State = 0
    system: bool = True
    lasso: object = None
    """``liveness``: the :class:`~crg.checker.result.Trace` of the fair loop."""


@dataclass(slots=True)
class SearchStats:
    states: int = 0
    edges: int = 0
    layers: int = 0
    max_depth: int = 0
    seconds: float = 0.0
    complete: bool = False
    bounded: bool = False
    """Stopped by ``max_events`` with events still enabled."""
    capped: bool = False
    """Stopped by its budget (``max_states`` or ``memory``)."""
    limit: str = ""
    """Why it was capped, in words (empty: it was not)."""
    predicted: int = 0
    """Not searched: the states predicted for it (:mod:`crg.checker.explicit.predict`)
    are beyond ``--auto-states`` (0: it was searched)."""
    probed: bool = False
    """A lone group's first search, stopped at ``SOLO_PROBE`` states (``--engine auto``)."""
    found: dict[tuple[str, bool], Found] = field(default_factory=dict)


class Search:
    """Explores one model; the arrays stay for trace reconstruction afterwards."""

    def __init__(self, model: Model, *, canon: Canon | None = None,
                 max_events: int | None = None, keep_going: bool = False,
                 liveness: bool = True, progress: Progress | None = None,
                 max_states: int | None = None, memory: int | None = None,
                 reduction: bool = False, reduction_warmup: int = 0) -> None:
        self.model = model
        self.canon = canon
        self.max_events = max_events
        self.keep_going = keep_going
        self.check_liveness = liveness
        self.progress = progress
        self.max_states = max_states
        """Stop as soon as this many states are found (the verdicts left open are
        ``unknown``)."""
        self.memory = memory
        """Stop once this process occupies more than this many bytes."""
        self.reducer = Reducer(model, reduction_warmup) if reduction else None
        """Partial-order reduction (:mod:`crg.checker.explicit.reduction`), if asked."""
        self.states: list[State] = []
        self.parent = array("I")
        self.dist = array("I")
        self.layer_start: list[int] = []
        """Index of the first state of each layer."""
        self.stats = SearchStats()
        self._seen: set[State] = set()
        self._t0 = 0.0
        self._next_check = _PROGRESS_EVERY
        """When to look at the memory next (states found, this layer's seeds included)."""

    # -- the search ----------------------------------------------------------------------

    def run(self) -> SearchStats:
        from crg.checker.explicit.liveness import check_layer  # the two modules use each other

        self._t0 = time.perf_counter()
        model, canon = self.model, self.canon
        root = model.initial() if canon is None else canon(model.initial())
        self.states.append(root)
        self.parent.append(NO_PARENT)
        self.dist.append(0)
        seeds: list[State] = []
        seed_parents = array("I")
        layer = 0
        while True:
            self.layer_start.append(len(self.states) if layer else 0)
            explore_events = self.max_events is None or layer < self.max_events
            edges = self._close_layer(layer, seeds, seed_parents, explore_events)
            seeds, seed_parents = edges.next_seeds, edges.next_parents
            if self.check_liveness and edges.back:
                check_layer(self, layer, edges.src, edges.dst)
            self.stats.layers = layer
            if self.stats.capped:
                break  # before anything else: a capped layer is not closed
            if not explore_events:
                self.stats.bounded = self._events_left(layer)
                self.stats.complete = not self.stats.bounded
                break
            if not seeds:
                self.stats.complete = True
                break
            if self._should_stop(layer):
                break
            layer += 1
        self.stats.states = len(self.states)
        self.stats.max_depth = max(self.dist) if self.dist else 0
        self.stats.seconds = time.perf_counter() - self._t0
        self._seen = set()  # the list keeps the states; the set is only for the search
        return self.stats

    def _events_left(self, layer: int) -> bool:
        """Whether some state of the last layer explored has an environment event (the
        search stopped at ``max_events``, so they were not computed)."""
        environment_transitions = self.model.environment_transitions
        return any(environment_transitions(s)
                   for s in self.states[self.layer_start[layer]:])

    def _should_stop(self, layer: int) -> bool:
        found = self.stats.found
        if len(found) == len(_ALL_KEYS):
            return True  # everything is violated: nothing more to learn
        return not self.keep_going and any(f.cost[0] <= layer for f in found.values())

    def _close_layer(self, layer: int, seeds: list[State], seed_parents: array[int],
                     explore_events: bool) -> _LayerEdges:
        """Process every state of ``layer``: the seeds merged by distance, and everything
        system steps reach from them.

        The layer's own states are in ``here`` (state -> index) until it is closed, then
        move to the visited set: the index lets system edges be kept as two int arrays
        for the liveness check, without holding on to duplicate state objects."""
        model, canon = self.model, self.canon
        system_transitions = model.system_transitions
        environment_transitions = model.environment_transitions
        state_problems = model.state_problems
        states, parent, dist, seen = self.states, self.parent, self.dist, self._seen
        here: dict[State, int] = {}
        out = _LayerEdges()
        src, dst = out.src, out.dst
        keep_edges = self.check_liveness
        pending: set[State] = set()
        next_seeds, next_parents = out.next_seeds, out.next_parents
        lo = self.layer_start[layer]
        if layer == 0:
            here[states[0]] = 0
        i, si, n_seeds = lo, 0, len(seeds)
        edges = 0
        progress, last_report = self.progress, 0
        cap = self.max_states
        # Memory is looked at every few thousand states *found*: a state of a large
        # component can have thousands of successors of kilobytes each.
        memory = self.memory
        reducer = self.reducer
        # Along system edges to new states the distance grows, so a cycle needs an edge
        # back to a state no farther than its source: without one the layer is acyclic
        # and the liveness check has nothing to look at.
        back = False
        while True:
            if i == len(states):
                if si == n_seeds:
                    break
                # Nothing left at the current distance: start the next seeds.
                upto = dist[seed_parents[si]] + 1
            else:
                upto = dist[i] + 1
            while si < n_seeds and dist[seed_parents[si]] + 1 <= upto:
                seed = seeds[si]
                if seed not in here and seed not in seen:
                    here[seed] = len(states)
                    states.append(seed)
                    parent.append(seed_parents[si])
                    dist.append(dist[seed_parents[si]] + 1)
                si += 1
            if i == len(states):
                continue
            state = states[i]
            d = dist[i]
            transitions = system_transitions(state)
            for name, g in state_problems(state, not transitions):
                self._record(name, False, (layer, d), "state", i, g, "")
            for action, target, problems in transitions:
                if problems:
                    for name, detail in problems:
                        self._record(name, False, (layer, d + 1), "step", i, action.group,
                                     detail, action=action, target=target, system=True)
            env = environment_transitions(state) if explore_events else []
            if reducer is not None and transitions:
                ample = reducer.ample(state, transitions, env)
                if ample is not None and self._proviso(ample[0], here, d):
                    transitions, env = ample
            for _, target, _ in transitions:
                if canon is not None:
                    target = canon(target)
                j = here.get(target)
                if j is None:
                    if target in seen:
                        continue  # an earlier layer: no cycle can come back from there
                    j = here[target] = len(states)
                    states.append(target)
                    parent.append(i)
                    dist.append(d + 1)
                elif dist[j] <= d:
                    back = True
                if keep_edges:
                    src.append(i)
                    dst.append(j)
            edges += len(transitions)
            if explore_events:
                edges += len(env)
                for action, target, problems in env:
                    if problems:
                        for name, detail in problems:
                            self._record(name, False, (layer + 1, d + 1), "step", i,
                                         action.group, detail, action=action, target=target,
                                         system=False)
                    if canon is not None:
                        target = canon(target)
                    if target not in here and target not in seen and target not in pending:
                        pending.add(target)
                        next_seeds.append(target)
                        next_parents.append(i)
            i += 1
            if cap is not None and len(states) >= cap:
                self.stats.capped = True
                self.stats.limit = "states"
                break
            if len(states) + len(next_seeds) >= self._next_check:
                self._next_check = len(states) + len(next_seeds) + _PROGRESS_EVERY
                if memory is not None and process_memory() > memory:
                    self.stats.capped = True
                    self.stats.limit = "memory"
                    break
            if progress is not None and i - last_report >= _PROGRESS_EVERY:
                last_report = i
                progress(len(states), layer, time.perf_counter() - self._t0)
        seen.update(here)
        self.stats.edges += edges
        out.back = back
        return out

    def _proviso(self, transitions: list[Transition], here: dict[State, int], d: int) -> bool:
        """The cycle proviso: an ample set may be followed only if none of its steps leads
        to a state of the layer already found at the same or a smaller distance (every
        cycle has such a step, so every cycle gets a fully expanded state)."""
        canon, dist = self.canon, self.dist
        for _, target, _ in transitions:
            j = here.get(target if canon is None else canon(target))
            if j is not None and dist[j] <= d:
                return False
        return True

    def _record(self, name: str, liveness: bool, cost: tuple[int, int], kind: str, index: int,
                group: int, detail: str, *, action: Action | None = None, target: State = 0,
                system: bool = True, lasso: object = None) -> None:
        key = (name, liveness)
        best = self.stats.found.get(key)
        if best is not None and best.cost <= cost:
            return
        self.stats.found[key] = Found(name, liveness, cost, kind, index, group, detail,
                                      len(self.states), time.perf_counter() - self._t0,
                                      action, target, system, lasso)

    def record_livelock(self, cost: tuple[int, int], group: int, detail: str,
                        lasso: object) -> None:
        self._record(LIVENESS[0], True, cost, "liveness", -1, group, detail, lasso=lasso)

    # -- reading the result ----------------------------------------------------------------

    def layer_of(self, index: int) -> int:
        from bisect import bisect_right

        return bisect_right(self.layer_start, index) - 1

    def path(self, index: int) -> list[int]:
        """State indices from the initial state to ``index``, along parent pointers."""
        out = [index]
        while self.parent[out[-1]] != NO_PARENT:
            out.append(self.parent[out[-1]])
        out.reverse()
        return out


class _LayerEdges:
    """The system edges inside one layer (as pairs of state indices) and the seeds of the
    next layer."""

    __slots__ = ("back", "dst", "next_parents", "next_seeds", "src")

    def __init__(self) -> None:
        self.back = False
        """Some system edge leads back to a state no farther than its source: only then
        can the layer hold a cycle."""
        self.src = array("I")
        self.dst = array("I")
        self.next_seeds: list[State] = []
        self.next_parents = array("I")


def _all_keys() -> tuple[tuple[str, bool], ...]:
    from crg.checker.result import PROPERTIES

    return tuple((p.name, p.liveness) for p in PROPERTIES)


_ALL_KEYS = _all_keys()
