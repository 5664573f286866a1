"""Shared helpers of the checker tests: small configurations written on the spot, and the
examples of the repository."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from crg.checker.api import check
from crg.checker.options import Engine, Options
from crg.checker.result import CheckReport
from crg.checker.symbolic.encoding import Encoding
from crg.checker.symbolic.induction import Prover
from crg.dsl import Config, parse
from crg.spec import Topology

if TYPE_CHECKING:
    from crg.checker.symbolic.api import SymbolicReport

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


@st.composite
def small_configs(draw: st.DrawFn, faults: tuple[str, ...], *, restarts: int, linked: int,
                  max_down: int, partition_alone_on_three_nodes: bool) -> Config:
    """Clusters of 2-3 nodes with 1-3 groups (2 on three nodes) of random kind, failback,
    fencing, budget (0..``restarts``), candidate lists and ``avoid`` links among the first
    ``linked`` groups, one or two of ``faults`` and ``max_down`` up to ``max_down``: the
    random configurations the engines are compared on. Partitions multiply the states
    most, so they come alone with several groups (and on three nodes, if asked)."""
    nodes = draw(st.integers(2, 3))
    names = [f"n{k}" for k in range(1, nodes + 1)]
    count = draw(st.integers(1, 3 if nodes == 2 else 2))
    groups = []
    for j in range(count):
        candidates = draw(st.permutations(names))[:draw(st.integers(1, nodes))]
        avoid = tuple(f"g{h}" for h in range(min(count, linked))
                      if j < linked and h != j and draw(st.booleans()))
        groups.append(G(f"g{j}", candidates[0], tuple(candidates[1:]),
                        draw(st.sampled_from(("auto", "manual"))),
                        draw(st.sampled_from(("failover", "instance"))),
                        draw(st.sampled_from(("self", "none"))), avoid,
                        draw(st.integers(0, restarts))))
    kinds = draw(st.lists(st.sampled_from(faults), min_size=1, max_size=2, unique=True))
    if "partition" in kinds and (count > 1 or (partition_alone_on_three_nodes and nodes > 2)):
        kinds = ["partition"]
    down = draw(st.integers(0, min(max_down, nodes)))
    return make_config(nodes, groups, down=down, faults=", ".join(kinds))


def example(name: str) -> str:
    return str(EXAMPLES / name)


@functools.cache
def proof_of_example(path: str) -> SymbolicReport:
    """The symbolic engine's report on the example at ``path`` (``facts=False``), once per
    process: tests that read the same example's proof share it (an ``xdist_group`` keeps
    them in one process under ``pytest -n``). The proof is a pure function of the file;
    its readers only read it."""
    from crg import files
    from crg.checker.symbolic.api import ProofOptions, prove

    return prove(files.load(path), ProofOptions(facts=False))


def explicit(config: Config, **options: Any) -> CheckReport:
    """The explicit engine's report on ``config``."""
    report = check(config, Options(engine=Engine.EXPLICIT, **options))
    assert report.explicit is not None
    return report.explicit


def strengthened(config: Config) -> tuple[Encoding, Prover]:
    """``config``'s z3 encoding and a prover whose inductive invariant is strengthened."""
    enc = Encoding(Topology.from_config(config))
    prover = Prover(enc, 30_000)
    prover.strengthen()
    return enc, prover


def liveness_proved_by_z3(config: Config) -> dict[str, Any]:
    """The symbolic engine's verdict details on ``vip-held (liveness)`` where only z3 may
    decide it (no explicit fallback), asserted to hold, by z3."""
    from crg.checker.symbolic.api import ProofOptions, prove

    label = "vip-held (liveness)"
    result = prove(config, ProofOptions(facts=False, liveness_states=0))
    assert result.verdicts[label] == "holds", result.details["invariants"][label]
    info: dict[str, Any] = result.details["invariants"][label]
    assert info["decided_by"] == "z3"
    info["components"] = result.details["components"]
    return info
