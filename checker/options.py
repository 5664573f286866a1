"""The one options type of :func:`crg.checker.check`, for both engines.

Nothing here imports an engine: ``crg check --help`` reads the defaults without paying for
z3 or scipy.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from crg.dsl import Fault

Progress = Callable[[int, int, float], None]
"""``progress(states, layer, seconds)``, called every few thousand states of a search."""
Stage = Callable[[str], None]
"""``stage(what)``: what the check does now, in words (:mod:`crg.checker.stages`)."""

EXPLICIT_MAX_STATES = 50_000
"""Largest component (distinct states, symmetry-reduced) whose liveness, and any property
z3 left open, the symbolic engine has the explicit engine decide by default: about a
second and a half of search on a quiet day here (benchmarks/README.md, "Checker")."""

RANKING_S = 60.0
"""Default time z3 may spend on the ranking function that proves one component's liveness
(``--liveness-time``): enough for the owner-change level of every configuration of the
reach series (benchmarks/README.md, "Reach"), not for every ordinary one ("Ordinary
configurations")."""

AUTO_STATES = 600_000
"""``--engine auto``: the explicit search of a component stops at this many states and the
symbolic engine decides the component instead (about 15 s of search here)."""

SOLO_PROBE = 50_000
"""``--engine auto``: a component of one group is searched explicitly up to this many
states first (a few seconds); one that does not finish goes to the symbolic engine, which
proves a single group in seconds, and is searched again up to ``AUTO_STATES`` only if z3
leaves a property open. (A lone group with many candidates and operator events has
hundreds of thousands of states: 30 s of search that z3 does in 3 s. The size of a pair
is predicted from its groups alone; a lone group has nothing smaller to predict from.)"""

AUTO_GROUPS = 8
"""``--engine auto``: a component of more groups than this goes to the symbolic engine
without an explicit search (groups linked by ``avoid`` multiply their state spaces: no
search of such a component stays within ``AUTO_STATES``)."""

SYMBOLIC_GROUPS = 32
"""The symbolic engine proves components of at most this many groups; a larger one is
left undecided, with the reason (its proof grows with the square of its size)."""


class Engine(enum.StrEnum):
    AUTO = "auto"
    """Each component by the explicit engine while its search stays within
    ``auto_states``; the components beyond it by the symbolic engine."""
    EXPLICIT = "explicit"
    SYMBOLIC = "symbolic"
    BOTH = "both"
    """Both engines on every component; a property one proves and the other refutes is
    a bug in crg."""


def default_jobs() -> int:
    """Worker processes by default: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Options:
    engine: Engine = Engine.AUTO
    max_down: int | None = None
    """Override ``assume at most k nodes down``."""
    faults: frozenset[Fault] | None = None
    """Override ``assume faults``."""
    compose: bool = True
    """Check components of interacting groups one at a time."""
    symmetry: bool = True
    """Merge interchangeable nodes and groups, and components and shapes equal up to a
    renaming of nodes."""
    reduction: bool = True
    """Partial-order reduction in the explicit engine (SPEC.md section 11)."""
    reduction_warmup: int = 20_000
    """States each search explores in full before the reduction starts: a search that ends
    sooner gains little from it and would pay for its dependency analysis and a closure
    per state (on the examples, an eighth of the check's time)."""
    max_events: int | None = None
    """Explore runs of at most this many environment events (``--max-depth``)."""
    keep_going: bool = False
    """Explore everything even after a violation (``--engine both`` implies it)."""
    max_states: int | None = None
    """State budget of one explicit search (None: derived from the memory budget)."""
    memory: int | None = None
    """Memory budget in bytes for the whole check, shared by the worker processes (None:
    derived from the memory available when the check starts)."""
    auto_states: int = AUTO_STATES
    liveness_states: int | None = None
    """Symbolic engine: the largest component whose liveness (and whatever z3 left open)
    an explicit search decides (``--liveness-states``; None: ``EXPLICIT_MAX_STATES``)."""
    liveness_time: float | None = None
    """Symbolic engine: seconds z3 may spend on the ranking function of each component
    (``--liveness-time``; None: ``RANKING_S``)."""
    jobs: int | None = None
    """Worker processes for components and shapes (None: one per core)."""
    facts: bool = True
    """Symbolic engine: also answer the configuration facts (coverage, placement, last
    node)."""
    progress: Progress | None = field(default=None, compare=False)
    stage: Stage | None = field(default=None, compare=False)
    """Told what the check is doing as each stage begins (:mod:`crg.checker.stages`)."""

    @property
    def workers(self) -> int:
        return self.jobs if self.jobs is not None else default_jobs()

    @property
    def explicit_keep_going(self) -> bool:
        """Both engines: the explicit search must finish to have something to compare."""
        return self.keep_going or self.engine is Engine.BOTH
