"""``crg check FILE...``: validate configurations, then prove them safe.

Every file is checked and reported, also after a bad one. Validation is
:func:`validate`; the model checker joins in :func:`verify`, which only ever sees a valid
configuration. ``--format text`` prints a verdict table and each counterexample step by
step; ``json``, ``sarif`` and ``junit`` are for tools and CI (one document for all files).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crg import files
from crg.checker.symbolic.limits import EXPLICIT_MAX_STATES
from crg.commands import add_command, add_format
from crg.dsl import Config, ConfigError, Fault
from crg.dsl.export import diagnostic_to_dict
from crg.errors import ExitCode, FileError
from crg.output import Output, count

if TYPE_CHECKING:
    from crg.checker.api import CheckOptions
    from crg.checker.explore import Progress
    from crg.checker.result import CheckReport, Violation
    from crg.checker.symbolic.api import ProofResult
    from crg.commands import Subparsers

ENGINES = ("explicit", "symbolic", "both")


@dataclass
class Report:
    """What ``check`` found out about one file."""

    path: str
    config: Config | None = None
    problem: ConfigError | FileError | None = None
    verdict: ExitCode = ExitCode.OK
    details: dict[str, Any] = field(default_factory=dict)
    """Extra facts for ``--format json`` (the checker adds its results here)."""
    check: CheckReport | None = None
    symbolic: list[Violation] = field(default_factory=list)
    """The symbolic engine's counterexamples, replayed (``--engine symbolic|both``)."""
    itf_paths: dict[str, str] = field(default_factory=dict)
    """Property identifier -> the ITF trace written under ``--out`` (the symbolic
    engine's: identifier + ``/symbolic``)."""
    error: str | None = None
    """A usage problem found only once the file was read (``--max-down`` too large...)."""
    undecided: list[str] = field(default_factory=list)
    """Properties no engine decided (neither violated nor proved nor bounded)."""
    bounded: int | None = None
    """``--max-depth N`` left events unexplored: nothing beyond N events is claimed."""


_SEVERITY = (ExitCode.OK, ExitCode.INCONCLUSIVE, ExitCode.VIOLATED, ExitCode.BAD_INPUT,
             ExitCode.INTERNAL)
"""Exit codes of ``check`` from the least to the most severe: the run exits with the
worst of its files."""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "check", summary="Validate configurations and prove them safe",
        description="Parse and validate each FILE, then explore every run its assumptions "
                    "allow and prove each invariant, or print the shortest run that breaks "
                    "it.",
        exits=((ExitCode.OK, "every property holds (with --max-depth: no violation within "
                             "the bound)"),
               (ExitCode.VIOLATED, "a property is violated (the run that breaks it is "
                                   "printed)"),
               (ExitCode.BAD_INPUT, "bad input: an invalid configuration, an unreadable "
                                    "file, a usage error"),
               (ExitCode.INTERNAL, "a bug in crg: the engines disagree, a counterexample "
                                   "does not replay, or a self-check of the spec fails"),
               (ExitCode.INCONCLUSIVE, "nothing is violated, but not every property was "
                                       "decided")))
    parser.add_argument("files", nargs="+", metavar="FILE", help="a .crg configuration")
    add_format(parser, ("text", "json", "sarif", "junit"), "text")
    parser.add_argument("--max-down", type=_count, metavar="K",
                        help="assume at most K nodes down (overrides the file)")
    parser.add_argument("--faults", type=_faults, metavar="F,...",
                        help="fault kinds to explore, from "
                             + ", ".join(f.value for f in Fault) + " (overrides the file)")
    parser.add_argument("--max-depth", type=_count, metavar="N",
                        help="explore runs of at most N environment events (faults and "
                             "commands); the cluster service's steps are never bounded")
    parser.add_argument("--no-compose", dest="compose", action="store_false",
                        help="check all groups together instead of one component at a time")
    parser.add_argument("--no-symmetry", dest="symmetry", action="store_false",
                        help="do not merge interchangeable nodes, groups and components")
    parser.add_argument("--keep-going", action="store_true",
                        help="explore everything even after a violation")
    parser.add_argument("--out", metavar="DIR",
                        help="write each counterexample as an ITF JSON trace under DIR")
    parser.add_argument("--engine", choices=ENGINES, default="explicit",
                        help="explicit-state search, z3 proofs, or both (default: explicit); "
                             "both implies --keep-going")
    parser.add_argument("--liveness-states", type=_count, metavar="N",
                        help="symbolic engine: decide liveness, and what z3 leaves open, "
                             "with an explicit search of each component of at most N states "
                             f"(default {EXPLICIT_MAX_STATES:,}; larger decides more and takes "
                             "longer, 0 never)")
    parser.add_argument("--explain-coverage", action="store_true",
                        help="also list the minimal failure sets (within --max-down) that "
                             "leave a group without a node (z3)")
    parser.add_argument("--validate-only", action="store_true",
                        help="parse and validate only; do not run the model checker")
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _faults(text: str) -> frozenset[Fault]:
    out = set()
    for word in (w.strip() for w in text.split(",")):
        try:
            out.add(Fault(word))
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise argparse.ArgumentTypeError(f"unknown fault '{word}' (known: {known})") from None
    return frozenset(out)


def run(args: argparse.Namespace) -> int:
    out = Output()
    reports = []
    if getattr(args, "out", None):
        from crg.checker.report.itf import file_stems

        args.itf_stems = file_stems(args.files)  # unique trace names for all files
    for path in args.files:
        report = check_file(path, args, out)
        reports.append(report)
        if args.format == "text":
            print_report(out, report)
    code = max((r.verdict for r in reports), key=_SEVERITY.index, default=ExitCode.OK)
    if args.format == "json":
        out.json(reports_to_dict(reports))
    elif args.format == "sarif":
        from crg.checker.report.sarif import to_sarif

        out.json(to_sarif([(r.path, r.config, r.check, r.problem, r.symbolic)
                           for r in reports], code))
    elif args.format == "junit":
        from crg.checker.report.junit import to_junit

        out.raw(to_junit([(r.path, r.check, r.problem or _error(r),
                           r.details.get("symbolic"), r.symbolic) for r in reports]))
    return code


def _error(report: Report) -> Exception | None:
    return ValueError(report.error) if report.error else None


def check_file(path: str, args: argparse.Namespace, out: Output | None = None) -> Report:
    report = Report(path)
    try:
        report.config = validate(path)
    except (ConfigError, FileError) as exc:
        report.problem = exc
        report.verdict = ExitCode.BAD_INPUT
        return report
    if not getattr(args, "validate_only", False):
        with _progress(out, path, args) as progress:
            args.progress = progress  # verify(report, args) is the hook tests replace
            report.verdict = verify(report, args)
    return report


def validate(path: str) -> Config:
    """Parse and validate; raises ConfigError (every diagnostic) or FileError."""
    return files.load(path)


def verify(report: Report, args: argparse.Namespace) -> ExitCode:
    """Prove the invariants of the valid configuration ``report.config`` with the engine
    ``--engine`` asks for; the results go to ``report.check`` and ``report.details``."""
    config = report.config
    assert config is not None
    max_down = getattr(args, "max_down", None)
    if max_down is not None and max_down > len(config.nodes):
        report.error = (f"--max-down {max_down}: the cluster has only "
                        f"{count(len(config.nodes), 'node')}")
        return ExitCode.BAD_INPUT
    from crg.checker.api import CheckOptions, run_check
    from crg.checker.report import itf
    from crg.checker.report.data import report_to_dict

    engine = getattr(args, "engine", "explicit")
    options = CheckOptions(
        max_down=max_down, faults=getattr(args, "faults", None),
        compose=getattr(args, "compose", True), symmetry=getattr(args, "symmetry", True),
        max_events=getattr(args, "max_depth", None),
        # both engines: the explicit search must finish to have something to compare
        keep_going=getattr(args, "keep_going", False) or engine == "both",
        progress=getattr(args, "progress", None),
        liveness_states=getattr(args, "liveness_states", None))
    verdict = ExitCode.OK
    if getattr(args, "explain_coverage", False):
        report.details["coverage"] = _coverage(config, max_down)
    out_dir = getattr(args, "out", None)
    stem = getattr(args, "itf_stems", {}).get(report.path)
    if engine in ("symbolic", "both"):
        symbolic = _symbolic(config, options)
        verdicts: dict[str, str] = dict(symbolic.verdicts)
        details = _plain(getattr(symbolic, "details", None))
        report.symbolic = list(getattr(symbolic, "violations", []))
        if out_dir:
            for v in report.symbolic:
                written = itf.write(out_dir, report.path, v, "symbolic", stem)
                report.itf_paths[f"{v.prop.ident}/symbolic"] = written
                if isinstance(details, dict) and v.prop.label in details.get("invariants", {}):
                    details["invariants"][v.prop.label]["itf"] = written
        report.details["symbolic"] = {"verdicts": verdicts, "details": details}
        if "violated" in verdicts.values():
            verdict = ExitCode.VIOLATED
        errors = details.get("internal_errors") if isinstance(details, dict) else None
        if errors:
            report.error = ("internal error in the symbolic engine (a bug in crg; please "
                            "report it): " + "; ".join(map(str, errors)))
    if engine in ("explicit", "both"):
        check = run_check(config, options)
        report.check = check
        if out_dir:
            for v in check.violations:
                report.itf_paths[v.prop.ident] = itf.write(out_dir, report.path, v,
                                                           stem=stem)
        report.details["check"] = report_to_dict(report.path, check, report.itf_paths)
        if not check.ok:
            verdict = ExitCode.VIOLATED
        if engine == "both":
            disagree = _disagreements(check, report.details["symbolic"]["verdicts"])
            if disagree:
                report.details["disagreements"] = disagree
                report.error = ("the explicit and symbolic engines disagree on "
                                + ", ".join(disagree) + " (a bug in crg; please report it)")
                return ExitCode.INTERNAL
    if report.error is not None:
        return ExitCode.INTERNAL
    if verdict is ExitCode.OK:
        verdict = _open_verdicts(report, getattr(args, "max_depth", None))
    return verdict


def _open_verdicts(report: Report, max_depth: int | None) -> ExitCode:
    """Nothing is violated: which properties are decided by neither engine (exit 4), or
    only within ``--max-depth`` (still exit 0, but said so)."""
    from crg.checker.result import PROPERTIES, Verdict

    explicit = ({r.prop.label: r.verdict for r in report.check.results.values()}
                if report.check is not None else {})
    symbolic = report.details.get("symbolic", {}).get("verdicts", {})
    bounded = False
    for prop in PROPERTIES:
        theirs = symbolic.get(prop.label)
        ours = explicit.get(prop.label)
        if ours is Verdict.HOLDS or theirs == "proved":
            continue
        if ours is Verdict.BOUNDED:
            bounded = True
        elif ours is not None or theirs is not None:
            report.undecided.append(prop.label)
    if report.undecided:
        report.details["undecided"] = list(report.undecided)
        return ExitCode.INCONCLUSIVE
    if bounded:
        report.bounded = max_depth
        report.details["bounded"] = max_depth
    return ExitCode.OK


def _disagreements(check: CheckReport, symbolic: dict[str, str]) -> list[str]:
    """Properties one engine proves and the other refutes (``unknown`` and unfinished
    searches agree with anything)."""
    from crg.checker.result import Verdict

    out = []
    for prop, result in check.results.items():
        theirs = symbolic.get(prop.label, symbolic.get(prop.ident))
        if ((theirs == "violated" and result.verdict is Verdict.HOLDS)
                or (theirs == "proved" and result.verdict is Verdict.VIOLATED)):
            out.append(prop.label)
    return out


def _symbolic(config: Config, options: CheckOptions) -> ProofResult:
    """The z3 engine's answer (imported here: z3 costs a second at start-up)."""
    from crg.checker.symbolic.api import prove

    return prove(config, options)


def _coverage(config: Config, max_down: int | None) -> str:
    """The z3 engine's answer to "which failures leave a group without a node?"."""
    from crg.checker.symbolic.api import explain_coverage

    return str(explain_coverage(config, max_down).render_text())


def _plain(value: Any) -> Any:
    """``details`` as JSON-ready data (the symbolic engine chooses its shape)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


@contextlib.contextmanager
def _progress(out: Output | None, path: str, args: argparse.Namespace
              ) -> Iterator[Progress | None]:
    """A live line on a terminal's stderr while a long search runs; nothing elsewhere."""
    if out is None or args.format != "text" or not out.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    with Bar(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
             console=Console(file=out.stderr), transient=True) as bar:
        task = bar.add_task(f"checking {path}", total=None)

        def update(states: int, layer: int, seconds: float) -> None:
            rate = states / seconds if seconds > 0 else 0.0
            bar.update(task, description=f"checking {path}: {states:,} states, "
                                         f"{count(layer, 'event')} deep, {rate:,.0f} states/s")

        yield update


def print_report(out: Output, report: Report) -> None:
    if report.problem is not None:
        out.problem(report.problem)
        return
    if report.error is not None and report.verdict is not ExitCode.INTERNAL:
        out.error(f"{report.path}: {report.error}")
        return
    config = report.config
    assert config is not None
    out.diagnostics(config.source, config.warnings, with_summary=False)
    if report.check is not None:
        from crg.checker.report.text import print_check

        print_check(out, report.path, config, report.check, report.itf_paths)
    coverage = report.details.get("coverage")
    if coverage is not None:
        out.print(coverage.rstrip("\n"))
    symbolic = report.details.get("symbolic")
    if symbolic is not None:
        from crg.checker.symbolic.render import render_text

        out.print(render_text(symbolic["verdicts"], symbolic["details"] or {}))
    facts = [count(len(config.nodes), "node"), count(len(config.groups), "group")]
    if config.warnings:
        facts.append(count(len(config.warnings), "warning"))
    if report.verdict is ExitCode.INTERNAL:
        # what was found is shown above; the verdict is that crg cannot be trusted here
        out.error(f"{report.path}: {report.error}")
    elif report.verdict is ExitCode.VIOLATED:
        broken = [v.prop.label for v in report.check.violations] if report.check else []
        if symbolic is not None:
            broken += [name for name, verdict in sorted(symbolic["verdicts"].items())
                       if verdict == "violated" and name not in broken]
        out.print(f"{report.path}: violated: {', '.join(broken) or 'see above'} "
                  f"({', '.join(facts)})", style="bold red")
    elif report.verdict is ExitCode.INCONCLUSIVE:
        out.print(f"{report.path}: inconclusive: no violation, but not decided: "
                  f"{', '.join(report.undecided)} ({', '.join(facts)})", style="bold yellow")
        from crg.checker.result import PROPERTIES

        liveness = {p.label for p in PROPERTIES if p.liveness}
        if symbolic is not None and liveness & set(report.undecided):
            out.print("  = hint: components too large for the explicit liveness check; "
                      "--liveness-states N raises its limit (time grows with N), or check "
                      "with --engine explicit", err=True)
    elif report.bounded is not None:
        out.print(f"{report.path}: no violation within {count(report.bounded, 'event')} "
                  f"(bounded, not a proof) ({', '.join(facts)})", style="yellow")
    else:
        out.print(f"{report.path}: ok ({', '.join(facts)})")


def reports_to_dict(reports: list[Report]) -> dict[str, Any]:
    entries = [_report_to_dict(r) for r in reports]
    diagnostics = [d for e in entries for d in e["diagnostics"]]
    return {
        "files": entries,
        "errors": sum(1 for d in diagnostics if d["severity"] == "error"),
        "warnings": sum(1 for d in diagnostics if d["severity"] == "warning"),
    }


def _report_to_dict(report: Report) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": report.path}
    if isinstance(report.problem, FileError):
        entry["status"] = "unreadable"
        entry["diagnostics"] = [{"severity": "error", "line": None, "column": None,
                                 "message": str(report.problem), "code": "unreadable",
                                 "hint": None, "end_line": None, "end_column": None}]
    elif isinstance(report.problem, ConfigError):
        entry["status"] = "invalid"
        entry["diagnostics"] = [diagnostic_to_dict(d) for d in report.problem.diagnostics]
    else:
        config = report.config
        assert config is not None
        entry["status"] = ("ok" if report.verdict is ExitCode.OK
                           else "error" if report.error
                           else "inconclusive" if report.verdict is ExitCode.INCONCLUSIVE
                           else "violated")
        entry["nodes"] = len(config.nodes)
        entry["groups"] = len(config.groups)
        entry["diagnostics"] = [diagnostic_to_dict(d) for d in config.warnings]
        if report.error:
            entry["diagnostics"].append({"severity": "error", "line": None, "column": None,
                                         "message": report.error, "code": "usage",
                                         "hint": None, "end_line": None, "end_column": None})
    entry.update(report.details)
    return entry
