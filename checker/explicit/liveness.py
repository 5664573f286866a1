"""Liveness: every fair run of the cluster service settles (the liveness half of
``vip-held``, SPEC.md section 8).

Fairness is weak fairness per system action instance (kind, group, node). A run that never
settles ends up looping inside one strongly connected component (SCC) of the system-only
graph. For weak fairness the SCC itself decides: a loop through *all* of an SCC's states
and edges is fair exactly when every action enabled in all its states is taken by one of
its edges — and if that fails for the SCC, it fails for every loop inside it (such an
action is enabled in every state of any smaller loop, and taken by none of its edges). So
the check is one SCC decomposition and one set test per non-trivial SCC.

SCCs never span layers (see :mod:`crg.checker.explicit.explore`), so each layer is decomposed on
its own, with scipy on compact arrays. With symmetry reduction the layer graph is a
quotient; its non-trivial SCCs are only suspects: each is lifted back to real states (the
real states whose canonical form lies in it, reachable from one of them) and decided there
with networkx, so the verdict is exact. In a correct configuration the system-only graph
has no cycles at all, so this costs nothing.
"""

from __future__ import annotations

import itertools
from array import array
from collections import deque
from typing import TYPE_CHECKING

import networkx as nx

from crg.checker.explicit.trace import lift_path
from crg.checker.result import Trace, TraceStep
from crg.spec import Action, Model, State

if TYPE_CHECKING:
    from crg.checker.explicit.explore import Search


SMALL_LAYER = 20_000
"""Layers with at most this many system edges are first tested for a cycle in Python:
in a correct configuration there is none, and scipy's import alone (a quarter of a second)
would cost more than the test."""


def acyclic(src: array[int], dst: array[int]) -> bool:
    """The graph of the edges ``src[k] -> dst[k]`` has no cycle (Kahn's algorithm on the
    nodes the edges touch)."""
    succ: dict[int, list[int]] = {}
    indegree: dict[int, int] = {}
    for a, b in zip(src, dst, strict=True):
        if a == b:
            return False
        succ.setdefault(a, []).append(b)
        indegree[b] = indegree.get(b, 0) + 1
    ready = [v for v in succ if v not in indegree]
    while ready:
        for w in succ.get(ready.pop(), ()):
            indegree[w] -= 1
            if not indegree[w]:
                ready.append(w)
    return not any(indegree.values())


def check_layer(search: Search, layer: int, src: array[int], dst: array[int]) -> None:
    """Find a fair non-settling loop among the states of ``layer`` and record it.
    ``src``/``dst``: the system edges inside the layer, as state indices."""
    if not src or (len(src) <= SMALL_LAYER and acyclic(src, dst)):
        return
    # imported here: scipy costs a few hundred ms, and every `crg` command imports this
    # module through `crg check` (status, switchover... should start at once)
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    lo = search.layer_start[layer]
    hi = len(search.states)
    s_arr = np.frombuffer(src, dtype=np.uint32).astype(np.int64) - lo
    d_arr = np.frombuffer(dst, dtype=np.uint32).astype(np.int64) - lo
    n = hi - lo
    graph = csr_matrix((np.ones(len(s_arr), dtype=np.int8), (s_arr, d_arr)), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(labels)
    suspect = sizes > 1
    loops = s_arr[s_arr == d_arr]
    suspect[labels[loops]] = True
    if not suspect.any():
        return
    members: dict[int, list[int]] = {}
    for j in np.nonzero(suspect[labels])[0].tolist():
        members.setdefault(int(labels[j]), []).append(lo + j)
    # Nearest suspects first: the lasso's prefix is then as short as we can make it.
    dist = search.dist
    for scc in sorted(members.values(), key=lambda m: min(dist[i] for i in m)):
        lasso = fair_lasso(search, scc)
        if lasso is not None:
            trace, group, detail = lasso
            search.record_livelock((layer, trace.length), group, detail, trace)
            return


def fair_lasso(search: Search, scc: list[int]) -> tuple[Trace, int, str] | None:
    """A fair loop of real states inside the (possibly quotient) SCC ``scc`` of state
    indices, with a shortest prefix to it; None if no fair loop exists there."""
    model, _canon = search.model, search.canon
    entry = min(scc, key=lambda i: search.dist[i])
    prefix = lift_path(search, search.path(entry))
    start = prefix[-1].state
    inside = {search.states[i] for i in scc}
    graph = _lift(search, start, inside)
    enabled = {t: frozenset(a for a, _, _ in model.system_transitions(t)) for t in graph}
    order = {t: k for k, t in enumerate(nx.bfs_tree(graph, start))}
    components = [c for c in nx.strongly_connected_components(graph)
                  if len(c) > 1 or graph.has_edge(next(iter(c)), next(iter(c)))]
    for component in sorted(components, key=lambda c: min(order[t] for t in c)):
        sub = graph.subgraph(component)
        continuous = frozenset.intersection(*(enabled[t] for t in component))
        taken = {a for _, _, acts in sub.edges(data="actions") for a in acts}
        if not continuous <= taken:
            continue  # an action always enabled here is never taken: no fair run stays
        loop_entry = min(component, key=lambda t: order[t])
        approach = nx.shortest_path(graph, start, loop_entry)
        steps = list(prefix)
        for u, v in itertools.pairwise(approach):
            steps.append(TraceStep(_label(graph, u, v), v))
        loop = _fair_loop(sub, loop_entry, enabled)
        loop_index = len(steps) - 1
        for u, a, v in loop[:-1]:
            del u
            steps.append(TraceStep(a, v))
        trace = Trace(model, tuple(steps), loop=loop_index, loop_action=loop[-1][1])
        actions = [a for _, a, _ in loop]
        return trace, loop_group(actions), loop_detail(model, actions)
    return None


def loop_group(actions: list[Action]) -> int:
    """The group a livelock is reported against: the first one that moves in the loop."""
    return next((a.group for a in actions if a.group >= 0), -1)


def loop_detail(model: Model, actions: list[Action]) -> str:
    moving = sorted({a.group for a in actions if a.group >= 0})
    names = ", ".join(model.groups[g].name for g in moving) or "nobody"
    return (f"the cluster service never settles: a fair loop of {len(actions)} steps "
            f"repeats forever ({names} keep moving)")


def _lift(search: Search, start: State, inside: set[State]) -> nx.DiGraph:
    """The real system-only graph from ``start`` among states whose canonical form is in
    ``inside`` — or, after partial-order reduction, which may have left a fair loop's
    states out, every state system steps reach from ``start``; each edge carries the set
    of actions that take it."""
    model, canon = search.model, search.canon
    bounded = search.reducer is None
    graph = nx.DiGraph()
    graph.add_node(start)
    todo = deque([start])
    while todo:
        u = todo.popleft()
        for action, v, _ in model.system_transitions(u):
            if bounded and (v if canon is None else canon(v)) not in inside:
                continue
            if v not in graph:
                graph.add_node(v)
                todo.append(v)
            if graph.has_edge(u, v):
                graph[u][v]["actions"].append(action)
            else:
                graph.add_edge(u, v, actions=[action])
    return graph


def _label(graph: nx.DiGraph, u: State, v: State) -> Action:
    actions: list[Action] = graph[u][v]["actions"]
    return min(actions)


def _fair_loop(sub: nx.DiGraph, entry: State,
               enabled: dict[State, frozenset[Action]]) -> list[tuple[State, Action, State]]:
    """A closed walk from ``entry`` inside the fair SCC ``sub`` along which every action
    enabled in all its states is taken: the shortest cycle through ``entry``, extended by
    detours until nothing continuously enabled is left untaken (each detour visits a state
    that disables an action, or takes it, so at most one detour per action)."""
    walk = _shortest_cycle(sub, entry)
    while True:
        visited = {entry, *(v for _, _, v in walk)}
        continuous = frozenset.intersection(*(enabled[t] for t in visited))
        missing = continuous - {a for _, a, _ in walk}
        if not missing:
            return walk
        wanted = min(missing)
        disabling = [t for t in sub if wanted not in enabled[t]]
        if disabling:
            target = min(disabling, key=lambda t: nx.shortest_path_length(sub, entry, t))
            walk += _walk(sub, entry, target) + _walk(sub, target, entry)
            continue
        u, v = next((u, v) for u, v, acts in sub.edges(data="actions") if wanted in acts)
        walk += [*_walk(sub, entry, u), (u, wanted, v), *_walk(sub, v, entry)]


def _shortest_cycle(sub: nx.DiGraph, entry: State) -> list[tuple[State, Action, State]]:
    best: list[tuple[State, Action, State]] | None = None
    for v in sub.successors(entry):
        back = [(entry, _label(sub, entry, v), v), *_walk(sub, v, entry)]
        if best is None or len(back) < len(best):
            best = back
    assert best is not None, "an SCC state without a successor inside it"
    return best


def _walk(sub: nx.DiGraph, a: State, b: State) -> list[tuple[State, Action, State]]:
    if a == b:
        return []
    path = nx.shortest_path(sub, a, b)
    return [(u, _label(sub, u, v), v) for u, v in itertools.pairwise(path)]
