"""Shared helpers of the checker tests: small configurations written on the spot, and the
examples of the repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crg.checker.api import check
from crg.checker.options import Engine, Options
from crg.checker.result import CheckReport
from crg.dsl import Config, parse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class G:
    """One group of a generated configuration."""

    name: str
    preferred: str
    possible: tuple[str, ...] = ()
    failback: str = "auto"
    kind: str = "failover"
    fencing: str = "self"
    avoid: tuple[str, ...] = ()
    restarts: int = 1


def make_config(nodes: int, groups: list[G], *, down: int = 1,
                faults: str = "crash") -> Config:
    """A valid configuration with ``nodes`` nodes n1..nN and the given groups."""
    names = " ".join(f"n{k}" for k in range(1, nodes + 1))
    lines = [f"cluster gen {{ nodes {names} assume at most {down} node down "
             f"assume faults {faults} }}",
             'defaults { monitor process app { start "/bin/true" } }']
    for k, g in enumerate(groups, start=1):
        body = [f"vip 10.9.{k // 250}.{k % 250 + 1}/16", f"preferred {g.preferred}",
                f"failback {g.failback}", f"kind {g.kind}", f"fencing {g.fencing}",
                f"restarts {g.restarts}"]
        if g.possible:
            body.append("possible " + ", ".join(g.possible))
        if g.avoid:
            body.append("avoid " + ", ".join(g.avoid))
        lines.append(f"group {g.name} {{ " + " ".join(body) + " }")
    return parse("\n".join(lines) + "\n", "<generated>")


def example(name: str) -> str:
    return str(EXAMPLES / name)


def explicit(config: Config, **options: Any) -> CheckReport:
    """The explicit engine's report on ``config``."""
    report = check(config, Options(engine=Engine.EXPLICIT, **options))
    assert report.explicit is not None
    return report.explicit
