"""Fewer nodes for the same proof: a component only needs its candidates and ``k`` others.

A component's groups never touch a node outside their candidate lists (*footprint*: every
mask of theirs is within the candidates, and owner and target are candidates or none), so
such a node matters only through its status: node events on it change nothing but its
status, no system step of the component is performed there except its lease expiry, and
the invariants say nothing about it. Those nodes are interchangeable, and at most ``k``
of them can be out at once; so the component over its candidates plus
``min(N - |candidates|, k)`` other nodes reaches the same states of the candidates and
groups as over all ``N`` (map the other nodes that are out, in any order, onto the kept
ones; the rest are up), with the same verdict for every invariant, settled ones included
(a cut-off kept node stands for a cut-off dropped one). Liveness too: the mapping takes a
fair loop to a fair loop, action instance for instance — the one step that may be
performed off the candidates, the cluster coordinator's *service down* for a group left
without a candidate, has one performer in both models (some node is up in one exactly
when some is in the other) and the same effect. The footprint itself is proved inductive
on the full component first; if that fails the component is proved unreduced.
"""

from __future__ import annotations

from crg.checker.components import reduce_nodes
from crg.checker.symbolic.encoding import Encoding
from crg.checker.symbolic.induction import Prover
from crg.spec.vocabulary.topology import Topology

FOOTPRINT = frozenset({"masks-on-candidates", "owner-live-candidate", "target-live-candidate"})


def footprint_holds(topology: Topology, timeout_ms: int) -> bool:
    """The footprint conjuncts of every group are inductive on the unreduced component."""
    prover = Prover(Encoding(topology), timeout_ms, only=FOOTPRINT)
    prover.strengthen()
    return len(prover.active) == len(prover.conjuncts)


__all__ = ["FOOTPRINT", "footprint_holds", "reduce_nodes"]
