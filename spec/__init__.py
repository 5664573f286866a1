"""crg.spec: the executable formal model of cooperative resource groups.

One semantics for everyone: ``crg simulate`` and the explicit-state checker evaluate the
rules concretely on packed states, the symbolic checker evaluates the same rule functions
over z3 terms (see :mod:`crg.spec.vocabulary.algebra`), and the runtime asks :meth:`Model.decide`
what its node should do next. SPEC.md (next to this file) is the prose specification.
"""

from __future__ import annotations

from crg.spec.invariants import INVARIANT_NAMES, LIVENESS, STATE_INVARIANTS, STEP_INVARIANTS
from crg.spec.model import IllegalAction, Model, State
from crg.spec.present.modes import Mode, Placement, describe, placements
from crg.spec.rules.registry import KINDS
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.topology import GroupTopology, Topology
from crg.spec.vocabulary.variables import GroupVars, NodeVars

__all__ = [
    "INVARIANT_NAMES", "KINDS", "LIVENESS", "STATE_INVARIANTS", "STEP_INVARIANTS", "Action",
    "ActionKind", "GroupTopology", "GroupVars", "IllegalAction", "Mode", "Model", "NodeVars",
    "Placement", "State", "Topology", "describe", "placements",
]
