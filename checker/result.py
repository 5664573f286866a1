"""What a check finds: properties, verdicts, violations and their traces.

The search (:mod:`crg.checker.explore`) produces these, the reports
(:mod:`crg.checker.report`) only read them, so every output format says the same thing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from crg.spec import INVARIANT_NAMES, LIVENESS, Action, Model, State


class Verdict(enum.StrEnum):
    HOLDS = "holds"
    """Every reachable state (and transition, and fair run) satisfies it."""
    VIOLATED = "violated"
    BOUNDED = "bounded"
    """No violation within ``--max-depth`` environment events; beyond is unexplored."""
    UNKNOWN = "unknown"
    """The search stopped before finishing (after the first violation of another
    property, unless ``--keep-going``)."""


@dataclass(frozen=True, slots=True, order=True)
class Property:
    """One row of the verdict table: an invariant of ``crg.spec`` in one of its two
    readings. ``vip-held`` has both: a settled-state invariant and a liveness property."""

    name: str
    liveness: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} (liveness)" if self.liveness else self.name

    @property
    def ident(self) -> str:
        """A stable identifier for machine formats (SARIF rule ids, JUnit test names)."""
        return f"{self.name}/liveness" if self.liveness else self.name


PROPERTIES: tuple[Property, ...] = (
    *(Property(name) for name in INVARIANT_NAMES),
    *(Property(name, liveness=True) for name in LIVENESS),
)


@dataclass(frozen=True, slots=True)
class TraceStep:
    action: Action | None
    """What led here (None for the initial state)."""
    state: State
    """The real (never symmetry-reduced) state after the action."""


@dataclass(frozen=True, slots=True)
class Trace:
    """A replayable run of one model: ``steps[0]`` is the initial state. For a lasso,
    ``loop`` is the index of the step the run returns to, by ``loop_action``, after the
    last step, forever."""

    model: Model
    steps: tuple[TraceStep, ...]
    loop: int | None = None
    loop_action: Action | None = None

    @property
    def length(self) -> int:
        """Transitions in the trace, the closing one of a loop included."""
        return len(self.steps) - 1 + (1 if self.loop is not None else 0)

    @property
    def events(self) -> tuple[Action, ...]:
        """The environment events in order (what ``crg simulate`` replays)."""
        from crg.spec.rules.registry import KINDS

        return tuple(s.action for s in self.steps
                     if s.action is not None and not KINDS[s.action.kind].system)


@dataclass(frozen=True, slots=True)
class Violation:
    prop: Property
    kind: str
    """``state`` (the last state breaks it), ``step`` (the last transition does) or
    ``liveness`` (the trace is a lasso)."""
    group: str | None
    """The group concerned (None for a node event breaking several at once)."""
    detail: str
    trace: Trace
    failures: int
    """Environment events in the trace: what the search minimises first."""


@dataclass(slots=True)
class PropertyResult:
    prop: Property
    verdict: Verdict
    states: int
    """Distinct states explored when the verdict was reached."""
    depth: int
    """Violated: the counterexample's length; otherwise the longest shortest path explored."""
    seconds: float
    violation: Violation | None = None


@dataclass(slots=True)
class ComponentResult:
    """One component of groups checked on its own (or the whole config with
    ``--no-compose``)."""

    groups: tuple[str, ...]
    states: int
    edges: int
    seconds: float
    layers: int
    """Environment-event layers explored (0: start-up only)."""
    complete: bool
    reused_from: tuple[str, ...] | None = None
    """Isomorphic to a component already checked: its result, renamed."""
    symmetry: str = ""
    """The symmetry used, in words (empty: none)."""


@dataclass(slots=True)
class CheckReport:
    results: dict[Property, PropertyResult]
    components: list[ComponentResult]
    states: int
    seconds: float
    options: dict[str, object] = field(default_factory=dict)
    symbolic: dict[str, object] | None = None
    """The symbolic engine's answer, when it ran (``--engine symbolic|both``)."""

    @property
    def violations(self) -> list[Violation]:
        return [r.violation for r in self.results.values() if r.violation is not None]

    @property
    def ok(self) -> bool:
        return not self.violations
