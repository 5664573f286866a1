#!/usr/bin/env python3
"""How strong the invariants are: seed every generated slip into the rules, run
``crg check`` on the harness's configurations and the examples, report the score and the
survivors (README of this folder, "Mutation score").

    python3 benchmarks/mutation_score.py                 # everything, about an hour
    python3 benchmarks/mutation_score.py -j 2            # on two cores
    python3 benchmarks/mutation_score.py --only placement
    python3 benchmarks/mutation_score.py --update        # rewrite the catalogue
    python3 benchmarks/mutation_score.py --missing --update   # judge only what it lacks
    python3 benchmarks/mutation_score.py --again equivalent --missing --update
    python3 benchmarks/mutation_score.py --from-json run.json --update   # a saved run

A survivor — a mutant that changes what the cluster does and that no invariant catches —
makes the script exit 1: it needs an invariant. The catalogue keeps the known ones with the
gap each shows written next to it, so a new one cannot slip in unnoticed. ``--update``
keeps the reasons written by hand and refuses to drop a mutant's entry silently.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path

from crg.checker.mutation import catalogue
from crg.checker.mutation.judge import Verdict, harness_configs, judge
from crg.checker.mutation.operators import Mutant, mutants
from crg.checker.mutation.world import entry_points, originals
from crg.dsl import Config

ROOT = Path(__file__).resolve().parents[1]


_CONFIGS: list[tuple[str, Config]] = []
"""Loaded once per worker: the judge keeps the original rules' verdicts and transition
systems per configuration object, so a fresh load per mutant would redo them every time."""


def _judge(job: tuple[Mutant, bool]) -> tuple[Mutant, Verdict]:
    mutant, equivalence = job
    if not _CONFIGS:
        _CONFIGS.extend(harness_configs(ROOT / "examples"))
    return mutant, judge(mutant, _CONFIGS, equivalence)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--only", help="mutate only this rule module or module.function")
    parser.add_argument("--update", action="store_true", help="rewrite the catalogue")
    parser.add_argument("--json", type=Path, help="write every verdict to this file")
    parser.add_argument("--no-equivalence", action="store_true",
                        help="do not compare the transition systems of uncaught mutants "
                        "(fast: they are reported as survivors)")
    parser.add_argument("--missing", action="store_true",
                        help="judge only the mutants the catalogue does not list yet "
                        "(after a rule changed; with --update, the others are kept)")
    parser.add_argument("--again", metavar="OUTCOME", action="append", default=[],
                        help="judge again the mutants the catalogue lists with this outcome "
                        "(equivalent, caught, refused; repeatable): after a new "
                        "configuration or invariant; with --update, the others are kept")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="take the verdicts of a run saved with --json instead of "
                        "judging again (its mutants must be today's)")
    args = parser.parse_args()

    listed = catalogue.load() if args.missing or args.again else {}
    skip = {i for i, e in listed.items() if e.outcome not in args.again}
    every = mutants(originals(), entry_points())
    today = {m.ident for m in every}
    todo = [m for m in every
            if (not args.only or args.only in (m.module, f"{m.module}.{m.function}"))
            and m.ident not in skip]
    if args.from_json:
        return _saved(todo, args.from_json, args.update,
                      bool(args.only or args.missing or args.again), today)
    print(f"{len(todo)} mutants of the rules, on {len(harness_configs(ROOT / 'examples'))} "
          "configurations", flush=True)
    started = time.perf_counter()
    results: list[tuple[Mutant, Verdict]] = []
    with multiprocessing.Pool(args.jobs) as pool:
        jobs = [(m, not args.no_equivalence) for m in todo]
        for k, (mutant, verdict) in enumerate(pool.imap(_judge, jobs), 1):
            results.append((mutant, verdict))
            where = f" on {verdict.config}" if verdict.config else ""
            print(f"[{k}/{len(todo)}] {verdict.outcome}{where}"
                  f"{': ' + verdict.invariant if verdict.invariant else ''} — "
                  f"{mutant.ident}: {mutant.description}", flush=True)
    seconds = time.perf_counter() - started
    counts = Counter(v.outcome for _, v in results)
    changed = len(results) - counts["equivalent"]
    caught = counts["caught"] + counts["refused"]
    print(f"\n{len(results)} mutants in {seconds:.0f} s: {counts['caught']} caught by an "
          f"invariant, {counts['refused']} refused by the model, {counts['equivalent']} "
          f"equivalent, {counts['survived']} survived")
    print(f"score: {caught}/{changed} non-equivalent mutants caught "
          f"({100 * caught / max(changed, 1):.1f} %)")
    by_invariant = Counter(v.invariant for _, v in results if v.outcome == "caught")
    print("caught by: " + ", ".join(f"{k} {n}" for k, n in by_invariant.most_common()))
    survivors = [(m, v) for m, v in results if v.outcome == "survived"]
    for mutant, _ in survivors:
        print(f"SURVIVOR {mutant.ident}: {mutant.description}")
    if args.json:
        args.json.write_text(json.dumps([{"ident": m.ident, "description": m.description,
                                          "outcome": v.outcome, "config": v.config,
                                          "invariant": v.invariant, "seconds": v.seconds}
                                         for m, v in results], indent=1))
    if args.update:
        _update(results, bool(args.only or args.missing or args.again), today)
    return 1 if survivors else 0


def _saved(todo: list[Mutant], path: Path, update: bool, partial: bool,
           today: set[str]) -> int:
    """The verdicts of a saved run, for today's mutants; refuses a run of other rules."""
    try:
        rows = {r["ident"]: r for r in json.loads(path.read_text(encoding="utf-8"))}
    except (OSError, ValueError, TypeError, KeyError) as e:
        print(f"mutation_score: cannot read {path}: {e}", file=sys.stderr)
        return 2
    unknown = [m.ident for m in todo if m.ident not in rows]
    if unknown:
        print(f"mutation_score: {path} has no verdict for {len(unknown)} of today's mutants "
              f"(e.g. {unknown[0]}): the rules changed since; judge them with --missing",
              file=sys.stderr)
        return 2
    results = [(m, Verdict(rows[m.ident]["outcome"], rows[m.ident]["config"],
                           rows[m.ident]["invariant"], rows[m.ident]["seconds"]))
               for m in todo]
    survivors = [m for m, v in results if v.outcome == "survived"]
    for mutant in survivors:
        print(f"SURVIVOR {mutant.ident}: {mutant.description}")
    if update:
        _update(results, partial, today)
    return 1 if survivors else 0


def _update(results: list[tuple[Mutant, Verdict]], partial: bool, today: set[str]) -> None:
    """Write the verdicts; a partial run keeps the other entries of mutants the rules still
    generate, and drops those of mutants they no longer do (their code changed: a changed
    rule's slips are new mutants, judged with --missing)."""
    old = catalogue.load()
    new = {i: e for i, e in old.items() if i in today} if partial else {}
    stale = len(old) - len(new) if partial else 0
    for mutant, verdict in results:
        reason = old[mutant.ident].reason if mutant.ident in old else None
        new[mutant.ident] = catalogue.Entry(verdict.outcome, mutant.description,
                                            verdict.config, verdict.invariant, reason)
    catalogue.save(new)
    missing = [i for i, e in new.items()
               if e.outcome in ("equivalent", "survived") and not e.reason]
    print(f"catalogue: {len(new)} entries written ({stale} of mutants the rules no longer "
          f"generate dropped); {len(missing)} equivalent or surviving mutants still need "
          "their reason (or the gap they show) written next to them")


if __name__ == "__main__":
    sys.exit(main())
