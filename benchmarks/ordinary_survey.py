"""How often plain ``crg check`` gives a verdict on ordinary, randomly generated configurations.

    cd /tmp && python3 /work/main/benchmarks/ordinary_survey.py                # 24 configs, seed 1
    python3 benchmarks/ordinary_survey.py --seed 2 --count 12 --timeout 90
    python3 benchmarks/ordinary_survey.py --out /tmp/survey/configs --json rows.json
    python3 benchmarks/ordinary_survey.py --seed 3 --only 10   # one case again
    python3 benchmarks/ordinary_survey.py --add-faults maintenance   # the same, in maintenance too

The family is what an operator writes without thinking of the checker: 3-5 nodes, 2-5
groups, each with a preferred node and 1-4 distinct possible nodes, failback auto or manual,
about one group in five ``kind instance``, ``avoid`` links between some groups (each ordered
pair with probability 0.4, and at least one link in most files), ``assume at most K nodes
down`` with K in {1, 2} and K < nodes - 1, the default fault set most of the time and
sometimes the default set plus ``drain`` or ``partition`` (fencing stays ``self``), restarts
the default 2 or 1. Each file is written to ``--out`` with a header naming its seed and index
(so any case can be rerun alone) and validated first (``--validate-only``): an invalid file
is a bug of this generator, printed and not counted. Each valid file is then checked once,
one after another, by ``python -m crg check --format json`` in a fresh process (as
``reach_series.py`` does, with ``PYTHONHASHSEED=0``; ``CRG_DEBUG=1`` for a traceback on an
internal error), killed with its process group after ``--timeout`` seconds. A verdict is
exit 0 (everything holds) or 1 (something violated); 4 (inconclusive), 3 (internal error)
and a timeout are what this survey looks for: after the table, each of them is listed with
what was left undecided and every reason the engines gave, and its JSON report is kept
next to the configuration (``s<seed>-<index>.check.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checker_common import machine, timed_check

DEFAULT_FAULTS = "crash, app-fault, switchover"


@dataclass
class Shape:
    """What the generator chose for one configuration (the table's columns)."""

    index: int
    nodes: int
    groups: int
    avoid: int
    max_down: int
    faults: str
    restarts: int
    instances: int
    text: str = field(repr=False)


def generate(seed: int, index: int, extra: str = "") -> Shape:
    """Configuration ``index`` of the family for ``seed`` (independent of the other indices);
    ``extra`` fault kinds are added to its fault set after every random draw, so the
    configurations are the seed's own otherwise."""
    rng = random.Random(f"{seed}:{index}")
    n = rng.randint(3, 5)
    g = rng.randint(2, 5)
    nodes = [f"n{i + 1}" for i in range(n)]
    names = [f"g{i + 1}" for i in range(g)]
    max_down = 1 if n <= 3 else rng.choice([1, 2])
    roll = rng.random()
    faults = "default"
    if roll >= 0.65:
        faults = DEFAULT_FAULTS + (", drain" if roll < 0.85 else ", partition")
    restarts = rng.choice([2, 2, 1])
    if extra:
        kinds = (DEFAULT_FAULTS if faults == "default" else faults).split(", ")
        faults = ", ".join(dict.fromkeys(kinds + extra.split(", ")))
    avoid: dict[str, list[str]] = {name: [] for name in names}
    for a in names:
        for b in names:
            if a != b and rng.random() < 0.4:
                avoid[a].append(b)
    if not any(avoid.values()) and rng.random() < 0.85:
        a, b = rng.sample(names, 2)
        avoid[a].append(b)
    lines = [f"# ordinary_survey.py --seed {seed}: configuration {index}",
             f"# {n} nodes, {g} groups, {sum(map(len, avoid.values()))} avoid links, "
             f"at most {max_down} down, faults {faults}, restarts {restarts}", "",
             f"cluster survey{index} {{", f"  nodes {' '.join(nodes)}",
             f"  assume at most {max_down} node{'s' if max_down != 1 else ''} down"]
    if faults != "default":
        lines.append(f"  assume faults {faults}")
    lines += ["}", "", "defaults {", '  app { start "/usr/local/bin/service {group}" }',
              "  monitor process"]
    if restarts != 2:
        lines.append(f"  restarts {restarts} within 5m")
    lines += ["}"]
    instances = 0
    for i, name in enumerate(names):
        preferred = rng.choice(nodes)
        others = [x for x in nodes if x != preferred]
        possible = rng.sample(others, rng.randint(1, min(4, len(others))))
        instance = rng.random() < 0.2
        instances += instance
        # An instance group with manual failback draws a warning (it stays offline): an
        # operator who heeds warnings gives it auto, most of the time.
        failback = ("auto" if rng.random() < 0.8 else "manual") if instance else \
            rng.choice(["auto", "manual"])
        lines += ["", f"group {name} {{", f"  vip 10.50.{index % 250}.{i + 1}/24"]
        if instance:
            lines.append("  kind instance")
        lines += [f"  preferred {preferred}", f"  possible {', '.join(possible)}",
                  f"  failback {failback}"]
        if avoid[name]:
            lines.append(f"  avoid {', '.join(avoid[name])}")
        lines.append("}")
    return Shape(index, n, g, sum(map(len, avoid.values())), max_down, faults, restarts,
                 instances, "\n".join(lines) + "\n")


def reasons(entry: dict[str, Any]) -> dict[str, list[str]]:
    """For each undecided property, every reason an engine gave for leaving it open."""
    found: dict[str, list[str]] = {}
    explicit = (entry.get("check") or {}).get("properties", [])
    symbolic = (entry.get("symbolic") or {}).get("details", {})
    for name in entry.get("undecided", []):
        base, liveness = name.removesuffix(" (liveness)"), name.endswith("(liveness)")
        said: list[str] = []
        for p in explicit:
            if p["name"] == base and (p["kind"] == "liveness") == liveness and p.get("reason"):
                said.append(f"explicit: {p['reason']}")
        inv = symbolic.get("invariants", {}).get(name) or {}
        if inv.get("verdict") not in (None, "holds") and inv.get("reason"):
            said.append(f"z3: {inv['reason']}")
        if liveness:
            for comp in symbolic.get("components", []):
                live = comp.get("liveness") or {}
                if live.get("verdict") not in (None, "holds") and \
                        f"z3: {live.get('reason')}" not in said:
                    said.append(f"z3 {'+'.join(comp['groups'])}: {live.get('reason')}")
        found[name] = list(dict.fromkeys(said))
    return found


def survey_one(shape: Shape, path: Path, timeout: float) -> dict[str, Any]:
    done = timed_check(path, [], timeout)
    code, out, err, wall, cpu = done.exit, done.out, done.err, done.wall_s, done.cpu_s
    row: dict[str, Any] = {k: v for k, v in asdict(shape).items() if k != "text"}
    row.update(path=str(path), exit="timeout" if code is None else code,
               wall_s=round(wall, 2), cpu_s=round(cpu, 2))
    try:
        entry = json.loads(out)["files"][0] if out.strip() else {}
    except (json.JSONDecodeError, KeyError, IndexError):
        entry = {}
    explicit = entry.get("check") or {}
    symbolic = (entry.get("symbolic") or {}).get("details", {})
    decided = {v.get("decided_by") or "" for v in symbolic.get("invariants", {}).values()
               if v.get("verdict") != "unknown"}
    decided |= {(c.get("liveness") or {}).get("decided_by") or ""
                for c in symbolic.get("components", [])}
    if any(p.get("verdict") not in (None, "unknown") for p in explicit.get("properties", [])):
        decided.add("explicit")
    components = explicit.get("components", [])
    row.update(status=entry.get("status"), states=explicit.get("states"),
               components=[c["groups"] for c in components],
               handed_to_z3=[c["groups"] for c in components if c.get("limit") == "auto"],
               predicted=[c["groups"] for c in components if c.get("predicted")],
               engines=sorted({e.strip() for d in decided for e in d.split(",")} - {""}),
               undecided=entry.get("undecided", []), limits=entry.get("limits", []),
               reasons=reasons(entry), internal_errors=symbolic.get("internal_errors", []),
               violated=sorted(k for k, v in (entry.get("verdicts") or {}).items()
                               if v == "violated"))
    if code not in (0, 1):
        row["stderr"] = err[-6000:]
        # The whole report of a case without a verdict, next to its configuration.
        path.with_suffix(".check.json").write_text(out, encoding="utf-8")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--out", type=Path, default=Path("/tmp/survey/configs"))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per check")
    parser.add_argument("--only", type=int, action="append",
                        help="check only this index (repeatable)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--add-faults", metavar="F,...", default="",
                        help="fault kinds added to every configuration's set (e.g. "
                             "maintenance): the same configurations, more to explore")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(machine(), f"load average {os.getloadavg()[0]:.1f}", f"seed {args.seed}",
          f"timeout {args.timeout:g} s", flush=True)
    extra = ", ".join(f.strip() for f in args.add_faults.split(",") if f.strip())
    shapes = [generate(args.seed, i, extra) for i in range(args.count)
              if not args.only or i in args.only]
    valid: list[tuple[Shape, Path]] = []
    for shape in shapes:
        path = args.out / f"s{args.seed}-{shape.index:03d}.crg"
        path.write_text(shape.text, encoding="utf-8")
        valid_run = timed_check(path, ["--validate-only"], 60)
        code, out, err = valid_run.exit, valid_run.out, valid_run.err
        if code == 2 or code is None:
            print(f"GENERATOR BUG: {path} is invalid (exit {code}):\n{out}{err}", flush=True)
            continue
        valid.append((shape, path))
    header = (f"{'idx':>3} {'nodes':>5} {'grp':>3} {'avoid':>5} {'K':>1} {'faults':9} "
              f"{'r':>1} {'exit':>7} {'wall s':>7} {'cpu s':>7}  decided by / undecided")
    print(header, flush=True)
    rows: list[dict[str, Any]] = []
    for shape, path in valid:
        row = survey_one(shape, path, args.timeout)
        if row["exit"] == 2:
            print(f"GENERATOR BUG: {path} rejected by check:\n{row.get('stderr', '')}",
                  flush=True)
            continue
        rows.append(row)
        faults = {"default": "default"}.get(
            shape.faults, "+" + "+".join(shape.faults.removeprefix(DEFAULT_FAULTS + ", ")
                                         .split(", ")))
        tail = ",".join(row["engines"]) or "-"
        if row["handed_to_z3"]:
            tail += f" (z3: {'; '.join('+'.join(c) for c in row['handed_to_z3'])})"
        if row["violated"]:
            tail += f" / violated: {', '.join(row['violated'])}"
            if row["undecided"]:  # the search stops after the first violation
                tail += f" (then stopped: {len(row['undecided'])} left unknown)"
        elif row["undecided"]:
            tail += f" / undecided: {', '.join(row['undecided'])}"
        print(f"{shape.index:>3} {shape.nodes:>5} {shape.groups:>3} {shape.avoid:>5} "
              f"{shape.max_down:>1} {faults:9} {shape.restarts:>1} {row['exit']!s:>7} "
              f"{row['wall_s']:>7.1f} {row['cpu_s']:>7.1f}  {tail}", flush=True)
    if rows:
        verdicts = sum(r["exit"] in (0, 1) for r in rows)
        walls = [r["wall_s"] for r in rows]
        print(f"verdicts {verdicts}/{len(rows)} (exit 0: {sum(r['exit'] == 0 for r in rows)}, "
              f"1: {sum(r['exit'] == 1 for r in rows)}, 4: {sum(r['exit'] == 4 for r in rows)}, "
              f"3: {sum(r['exit'] == 3 for r in rows)}, "
              f"timeout: {sum(r['exit'] == 'timeout' for r in rows)}); "
              f"wall median {statistics.median(walls):.1f} s, max {max(walls):.1f} s; "
              f"{len(shapes) - len(rows)} invalid", flush=True)
        for r in rows:
            if r["exit"] in (0, 1):
                continue
            print(f"\n{r['path']}: exit {r['exit']}, undecided {r['undecided']}")
            for name, said in r["reasons"].items():
                for reason in said:
                    print(f"  {name}: {reason}")
            for limit in r["limits"]:
                print(f"  limit: {limit}")
            for error in r["internal_errors"]:
                print(f"  internal error: {error}")
            if r.get("stderr") and r["exit"] != 4:
                print("  stderr:\n" + "\n".join("    " + x for x in r["stderr"].splitlines()))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
