"""What a check finds: properties, verdicts, violations and their traces.

One vocabulary for both engines: each property gets a :class:`Verdict`, each engine's
findings per component are :class:`Finding` objects, and :func:`crg.checker.check`
combines them into a :class:`Report` whose :class:`Status` is the exit status. The
engines produce these, the reports (:mod:`crg.checker.report`) only read them, so every
output format says the same thing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from crg.spec import INVARIANT_NAMES, LIVENESS, Action, Model, State


class Verdict(enum.StrEnum):
    HOLDS = "holds"
    """Every reachable state (and transition, and fair run) satisfies it: the explicit
    search was complete, or z3 proved it for every interleaving."""
    VIOLATED = "violated"
    """A run from the initial state breaks it (replayed on the concrete model)."""
    BOUNDED = "bounded"
    """No violation within ``--max-depth`` environment events; beyond is unexplored."""
    UNKNOWN = "unknown"
    """Not decided: the search stopped before finishing (after the first violation of
    another property unless ``--keep-going``, or at its budget), or z3 could not decide
    it; the reason says which."""


class Status(enum.StrEnum):
    """The outcome of a whole check, from the least to the most severe."""

    OK = "ok"
    """Every property holds (or, under ``--max-depth``, nothing is violated within it)."""
    INCONCLUSIVE = "inconclusive"
    """Nothing is violated, but some property is decided by no engine."""
    VIOLATED = "violated"
    INTERNAL = "internal"
    """A bug in crg: the engines disagree, or a counterexample does not replay."""

    @property
    def severity(self) -> int:
        return list(Status).index(self)


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
    engine: str = "explicit"
    """Who decided: ``explicit``, ``z3``, or both, comma-separated."""
    reason: str = ""
    """Why it is not decided, or how it was (empty for a complete explicit search)."""


@dataclass(slots=True)
class Finding:
    """One property in one component, as one engine found it."""

    verdict: Verdict
    reason: str = ""
    engine: str = "explicit"
    states: int = 0
    """Explicit engine: states explored when the verdict was reached."""
    seconds: float = 0.0
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
    limit: str = ""
    """Why the search stopped before finishing, in words (empty: it did not)."""
    reduced: bool = False
    """Explored with partial-order reduction."""
    predicted: int = 0
    """Not searched but handed to the symbolic engine at once: the states predicted for
    it, beyond ``--auto-states`` (a lower bound of the estimate: the groups' searches stop
    once it is beyond the limit; 0: it was searched)."""
    probed: bool = False
    """A lone group whose first explicit search stopped at ``SOLO_PROBE`` states and was
    handed to the symbolic engine (searched again up to ``--auto-states`` for what z3
    leaves open)."""
    findings: dict[Property, Finding] = field(default_factory=dict, repr=False)


@dataclass(slots=True)
class CheckReport:
    """The explicit engine's answer."""

    results: dict[Property, PropertyResult]
    components: list[ComponentResult]
    states: int
    seconds: float
    options: dict[str, object] = field(default_factory=dict)

    @property
    def violations(self) -> list[Violation]:
        return [r.violation for r in self.results.values() if r.violation is not None]

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass(slots=True)
class SymbolicReport:
    """The symbolic engine's answer: a verdict per property label, plain JSON-ready
    details (reasons, the auxiliary invariants, per-component figures, configuration
    facts) and each violated property's counterexample, replayed."""

    verdicts: dict[str, Verdict]
    details: dict[str, object] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    parts: list[tuple[tuple[str, ...], dict[Property, Finding]]] = field(
        default_factory=list, repr=False)
    """Per component (its groups), what the engine found for each property."""

    @property
    def ok(self) -> bool:
        return Verdict.VIOLATED not in self.verdicts.values()

    @property
    def seconds(self) -> float:
        """How long the engine took."""
        seconds = self.details.get("seconds", 0.0)
        return float(seconds) if isinstance(seconds, (int, float)) else 0.0

    def as_json(self) -> dict[str, object]:
        return {"verdicts": {k: v.value for k, v in self.verdicts.items()},
                "details": self.details}

    def render_text(self) -> str:
        from crg.checker.symbolic.render import render_text

        return render_text(self.verdicts, self.details)


@dataclass(slots=True)
class Report:
    """What :func:`crg.checker.check` found: one verdict per property, the status, and
    each engine's own answer."""

    results: dict[Property, PropertyResult]
    status: Status
    engine: str
    explicit: CheckReport | None = None
    symbolic: SymbolicReport | None = None
    undecided: list[str] = field(default_factory=list)
    """Properties no engine decided (status ``inconclusive``)."""
    bounded: int | None = None
    """``--max-depth N`` left events unexplored: nothing beyond N events is claimed."""
    disagreements: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Internal errors (bugs in crg), in words."""
    limits: list[str] = field(default_factory=list)
    """Why a search stopped before deciding everything (a budget), in words."""
    seconds: float = 0.0

    @property
    def violations(self) -> list[Violation]:
        return [r.violation for r in self.results.values() if r.violation is not None]

    @property
    def ok(self) -> bool:
        return self.status is Status.OK
