"""Seeded random configurations and event scripts for the differential test.

A configuration has 2 to 4 nodes and 1 to 4 groups, each with a random sequenced list,
failback policy, kind, restart budget and, sometimes, groups it avoids. A script is a few
node crashes, rejoins, application faults and clean-ups of a node where a group spent its
restart budget, each chosen among the events possible at that point (by crg's own
placement, which both sides agree on until they do not). The scripts of
:func:`operator_scenario` (seeds from :data:`OPERATOR_SEEDS` on) also have an operator's
``switchover G N`` and ``clear G``, each offered only where crg would accept it.
Everything follows from the seed, so a failing scenario is reproduced by its number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from crg_side import Placement, Replay

from crg.dsl import Config, parse

MONITOR_MS = 2000
"""Every group's one monitor interval: the op a fault is injected into."""


@dataclass(frozen=True)
class Scenario:
    seed: int
    text: str
    config: Config
    events: list[tuple[str, ...]]
    crg: list[Placement] | None = field(default=None, compare=False, repr=False)
    """crg's placements after start-up and each event, when the generator kept them."""

    def variant(self, config: Config, events: list[tuple[str, ...]]) -> Scenario:
        """Another configuration or script under the same seed (crg's answer not kept)."""
        return Scenario(self.seed, self.text, config, events)

    def describe(self) -> str:
        script = " ".join(f"--{e[0]} {' '.join(e[1:])}" for e in self.events)
        return f"seed {self.seed}: crg simulate CONFIG {script}\n{self.text}"


def config_text(rng: random.Random, *, with_avoid: bool) -> str:
    nodes = [f"n{i}" for i in range(1, rng.randint(2, 4) + 1)]
    names = [f"g{i}" for i in range(1, rng.randint(1, 4) + 1)]
    lines = [f"cluster diff {{\n  nodes {' '.join(nodes)}\n}}\n"]
    for index, name in enumerate(names):
        candidates = rng.sample(nodes, rng.randint(1, len(nodes)))
        statements = [
            f"vip 10.0.{index}.1/24",
            'app {\n    start "/usr/bin/sleep infinity"\n  }',
            f"monitor process every {MONITOR_MS // 1000}s timeout 1s fails 1",
            f"preferred {candidates[0]}",
        ]
        if candidates[1:]:
            statements.append("possible " + ", ".join(candidates[1:]))
        statements.append(f"failback {rng.choice(['auto', 'manual'])}")
        if rng.random() < 0.25:
            statements.append("kind instance")
        statements.append(f"restarts {rng.randint(0, 2)} within 5m")
        others = [n for n in names if n != name]
        if with_avoid and others and rng.random() < 0.6:
            statements.append("avoid " + ", ".join(rng.sample(others,
                                                              rng.randint(1, len(others)))))
        body = "".join(f"  {s}\n" for s in statements)
        lines.append(f"group {name} {{\n{body}}}\n")
    return "\n".join(lines)


def script(rng: random.Random, config: Config, length: int) -> Replay:
    """``length`` events, each possible where it happens (crg's placement decides which
    applications run), and crg's run of them."""
    replay = Replay(config)
    down: set[str] = set()
    for _ in range(length):
        options = _environment(replay, down)
        if not options:
            break
        _apply(replay, down, rng.choice(options))
    return replay


def _environment(replay: Replay, down: set[str]) -> list[tuple[str, ...]]:
    """The crashes, rejoins, faults and clean-ups possible after the replay so far."""
    options: list[tuple[str, ...]] = [("fail", n) for n in replay.config.cluster.nodes
                                      if n not in down]
    options += [("join", n) for n in sorted(down)]
    placement = replay.placements[-1]
    options += [("fault", g) for g, where in sorted(placement.items())
                if where.app is not None]
    options += [("cleanup", g, n) for g, where in sorted(placement.items())
                for n in sorted(where.banned)]
    return options


def _commands(replay: Replay) -> list[tuple[str, ...]]:
    """The switchovers and clears crg accepts after the replay so far (crg's own reading
    of an operator command against the state, as ``crg switchover`` refuses one)."""
    placement = replay.placements[-1]
    options: list[tuple[str, ...]] = [
        ("switchover", g, n) for g in sorted(placement) for n in replay.config.cluster.nodes
        if replay.refused(("switchover", g, n)) is None]
    options += [("clear", g) for g, where in sorted(placement.items())
                if where.target is not None and replay.refused(("clear", g)) is None]
    return options


def _apply(replay: Replay, down: set[str], event: tuple[str, ...]) -> None:
    replay.apply(event)
    if event[0] == "fail":
        down.add(event[1])
    elif event[0] == "join":
        down.discard(event[1])


def operator_script(rng: random.Random, config: Config, length: int) -> Replay:
    """``length`` events, environment events and operator commands (``switchover``,
    ``clear``) mixed: at each step a kind of event is drawn among those possible, then
    one of its events, so that the many switchovers (a group times a node) do not crowd
    out the rest; the step drawn first, or the first one after it where crg accepts one,
    is a switchover, unless the script has had one already."""
    replay = Replay(config)
    down: set[str] = set()
    switchover_at = rng.randrange(length)
    for index in range(length):
        options = _environment(replay, down) + _commands(replay)
        if (index >= switchover_at and all(e[0] != "switchover" for e in replay.events)
                and any(e[0] == "switchover" for e in options)):
            options = [e for e in options if e[0] == "switchover"]
        if not options:
            break
        kinds = sorted({e[0] for e in options})
        kind = rng.choice(kinds)
        _apply(replay, down, rng.choice([e for e in options if e[0] == kind]))
    return replay


def _config(rng: random.Random, seed: int) -> tuple[str, Config]:
    text = config_text(rng, with_avoid=seed % 2 == 1)
    return text, parse(text, f"scenario-{seed}.crg")


def generated_config(seed: int) -> Config:
    """The configuration of scenario ``seed``, without its script."""
    return _config(random.Random(seed), seed)[1]


def scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    text, config = _config(rng, seed)
    replay = script(rng, config, rng.randint(2, 6))
    return Scenario(seed, text, config, replay.events, replay.placements)


OPERATOR_SEEDS = 1000
"""The first seed of the scenarios with operator commands (their own range: the seeds
below keep the scripts without them)."""


def operator_scenario(seed: int) -> Scenario:
    """Scenario ``seed`` (from :data:`OPERATOR_SEEDS` on): the same configurations, a
    script of 3 to 7 events with switchovers and clears among them."""
    rng = random.Random(seed)
    text, config = _config(rng, seed)
    replay = operator_script(rng, config, rng.randint(3, 7))
    return Scenario(seed, text, config, replay.events, replay.placements)
