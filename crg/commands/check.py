"""``crg check FILE...``: validate configurations, then prove them safe.

Every file is checked and reported, also after a bad one. Validation is
:func:`validate`; the model checker (:func:`crg.checker.check`) only ever sees a valid
configuration and decides everything else — which engine answers, whether the engines
agree, what stays undecided, the status. ``--format text`` prints a verdict table and
each counterexample step by step; ``json``, ``sarif`` and ``junit`` are for tools and CI
(one document for all files).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crg import files
from crg.checker.options import (
    AUTO_STATES,
    EXPLICIT_MAX_STATES,
    RANKING_S,
    Engine,
    Options,
    Progress,
    Stage,
)
from crg.commands import add_command, add_format, negative_values_are_values
from crg.commands._client import duration, seconds
from crg.dsl import Config, ConfigError, Fault
from crg.dsl.export import diagnostic_to_dict, duration_text
from crg.errors import ExitCode, FileError
from crg.output import Output, count

if TYPE_CHECKING:
    from crg.checker.report import junit
    from crg.checker.result import Report as CheckerReport
    from crg.checker.symbolic.coverage import CoverageReport
    from crg.commands import Subparsers

ENGINES = tuple(e.value for e in Engine)

_EXIT = {"ok": ExitCode.OK, "inconclusive": ExitCode.INCONCLUSIVE,
         "violated": ExitCode.VIOLATED, "internal": ExitCode.INTERNAL}


@dataclass
class Report:
    """What ``check`` found out about one file."""

    path: str
    config: Config | None = None
    problem: ConfigError | FileError | None = None
    verdict: ExitCode = ExitCode.OK
    result: CheckerReport | None = None
    """The checker's report (None: not checked)."""
    coverage: CoverageReport | None = None
    """``--explain-coverage``: the answer, instead of a check."""
    itf_paths: dict[str, str] = field(default_factory=dict)
    """Property identifier -> the ITF trace written under ``--out`` (the symbolic
    engine's: identifier + ``/symbolic``)."""
    error: str | None = None
    """A usage problem found only once the file was read (``--max-down`` too large...)."""
    warned: bool = False
    """The configuration's warnings are printed already (text, before the search)."""
    trace_error: FileError | None = None
    """A trace under ``--out`` that could not be written: said after the verdict, which it
    must not replace (a violation found in an hour is still a violation)."""

    @property
    def shown(self) -> str:
        """The file's name in the text report: its diagnostics' (``<stdin>`` for ``-``)."""
        return files.shown(self.path)


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
                                       "decided (a budget ran out, or no engine could "
                                       "decide it)")))
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
    parser.add_argument("--no-reduction", dest="reduction", action="store_false",
                        help="explore every interleaving (no partial-order reduction)")
    parser.add_argument("--keep-going", action="store_true",
                        help="explore everything even after a violation")
    parser.add_argument("--out", metavar="DIR",
                        help="write each counterexample as an ITF JSON trace under DIR")
    parser.add_argument("--engine", choices=ENGINES, default=Engine.AUTO.value,
                        help="auto: the explicit search for each component that stays "
                             f"within --auto-states ({AUTO_STATES:,}), z3 for the others "
                             "(the default); explicit-state search only, z3 proofs only, "
                             "or both (which implies --keep-going)")
    parser.add_argument("--auto-states", type=_positive, metavar="N",
                        help=f"--engine auto: the largest explicit search of a component "
                             f"(default {AUTO_STATES:,})")
    parser.add_argument("--max-states", type=_positive, metavar="N",
                        help="stop an explicit search at N states (default: what the memory "
                             "budget holds); what it leaves open is inconclusive (exit 4)")
    parser.add_argument("--memory", type=_size, metavar="SIZE",
                        help="memory budget of the check, e.g. 2G or 512M (default: 60%% of "
                             "the memory available)")
    parser.add_argument("-j", "--jobs", type=_positive, metavar="N",
                        help="check components on N processes (default: one per core)")
    parser.add_argument("--liveness-states", type=_count, metavar="N",
                        help="symbolic engine: decide liveness, and what z3 leaves open, "
                             "with an explicit search of each component of at most N states "
                             f"when no ranking function proves it (default "
                             f"{EXPLICIT_MAX_STATES:,}; 0 never)")
    parser.add_argument("--liveness-time", type=_duration_s, metavar="DURATION",
                        help="symbolic engine: how long z3 may look for the ranking function "
                             f"that proves liveness, per component (default {RANKING_S:g}s; "
                             "e.g. 300s, 5m): groups chasing each other through avoid may "
                             "need longer")
    parser.add_argument("--explain-coverage", action="store_true",
                        help="instead of checking, list the minimal failure sets (within "
                             "--max-down) that leave a group without a node (z3)")
    parser.add_argument("--validate-only", action="store_true",
                        help="parse and validate only; do not run the model checker")
    # so that --memory -1G and --liveness-time -5s are said to be negative
    negative_values_are_values(parser)
    parser.set_defaults(run=run)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None


def _count(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _duration_s(text: str) -> float:
    """``300``, ``300s``, ``5m``: seconds, more than none."""
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(f"'{text}' is negative: it must be a duration of "
                                         "more than 0 (e.g. 300s, 5m)")
    value = seconds(duration(text))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _positive(text: str) -> int:
    value = _whole(text)
    if value < 1:  # the same words for -2 as for 0: 0 is no more allowed than -2
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


MIN_MEMORY = 2**20
"""The smallest --memory: less holds no search (the check's own process takes tens of
MiB), and ``--memory 4`` (bytes, without a unit) is 4G with the unit forgotten."""


def _size(text: str) -> int:
    if text.strip().startswith("-"):
        raise argparse.ArgumentTypeError(f"'{text}' is negative: a memory budget is a size "
                                         "of 1M or more (examples: 512M, 4G)")
    found = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)i?b?\s*", text.lower())
    if found is None or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"not a size: '{text}' (examples: 512M, 4G)")
    size = int(found.group(1)) * _UNITS[found.group(2)]
    if size < MIN_MEMORY:
        unit = "" if found.group(2) else " (a number without a unit is bytes)"
        raise argparse.ArgumentTypeError(f"'{text}' is {count(size, 'byte')}{unit}: too "
                                         "little for a check, which needs 1M at least "
                                         "(examples: 512M, 4G)")
    return size


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
    files.stdin_once(args.files)
    if getattr(args, "explain_coverage", False):
        if getattr(args, "validate_only", False):
            out.error("--explain-coverage and --validate-only do not go together: the one "
                      "asks a question of the model, the other skips it")
            return ExitCode.BAD_INPUT
        if args.format in ("sarif", "junit"):
            out.error(f"--explain-coverage answers in text or json, not {args.format}")
            return ExitCode.BAD_INPUT
    reports = []
    if getattr(args, "out", None):
        from crg.checker.report import itf

        try:
            itf.prepare(args.out)  # before the check: a mistaken --out is said at once
        except itf.TraceWriteError as exc:
            raise FileError(exc.path, exc.reason, "write") from None
        args.itf_stems = itf.file_stems(args.files)  # unique trace names for all files
    for path in args.files:
        report = check_file(path, args, out)
        reports.append(report)
        if args.format == "text":
            print_report(out, report)
    code = max((r.verdict for r in reports), key=_SEVERITY.index, default=ExitCode.OK)
    for report in reports:
        if report.trace_error is not None:
            out.error(f"{report.trace_error} (the verdict stands: the report shows the "
                      "trace)")
            code = max(code, ExitCode.BAD_INPUT, key=_SEVERITY.index)
    if args.format == "json":
        out.json(reports_to_dict(reports))
    elif args.format == "sarif":
        from crg.checker.report.sarif import to_sarif

        out.json(to_sarif([(r.path, r.config, r.result.explicit if r.result else None,
                            r.problem, r.result.symbolic.violations
                            if r.result and r.result.symbolic else [])
                           for r in reports], code))
    elif args.format == "junit":
        from crg.checker.report.junit import to_junit

        out.raw(to_junit([_junit_entry(r) for r in reports]))
    return code


def _junit_entry(report: Report) -> junit.Entry:
    """One file for JUnit. With ``--engine auto``, one test case per property as the
    check decided it, whichever engine did (as the text's table and the JSON's
    ``properties``): a component z3 proved is no skipped explicit case beside a passed
    symbolic one. With ``both`` and ``symbolic``, each engine's cases."""
    from crg.checker.report.junit import Entry

    result = report.result
    explicit = result.explicit if result else None
    symbolic = result.symbolic if result else None
    problem = report.problem or _error(report)
    # The warnings, as SARIF's config-warning results: an invalid file's too.
    if report.config is not None:
        source, warnings = report.config.source, list(report.config.warnings)
    elif isinstance(problem, ConfigError):
        source, warnings = problem.source, list(problem.warnings)
    else:
        source, warnings = None, []
    if result is not None and explicit is not None and result.engine == "auto":
        combined = dataclasses.replace(explicit, results=result.results,
                                       seconds=result.seconds)
        return Entry(report.path, combined, problem, None, [], source, warnings)
    return Entry(report.path, explicit, problem, symbolic.as_json() if symbolic else None,
                 symbolic.violations if symbolic else [], source, warnings)


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
    if getattr(args, "explain_coverage", False):
        report.verdict = explain(report, args)
    elif not getattr(args, "validate_only", False):
        if out is not None and args.format == "text":
            # Before a search that may take minutes (or be interrupted): a warning such as
            # too-few-nodes foretells its verdict, and came only after it.
            out.diagnostics(report.config.source, report.config.warnings, with_summary=False)
            report.warned = True
        with _progress(out, path, args) as watch:
            report.verdict = verify(report, args, watch)
    return report


def validate(path: str) -> Config:
    """Parse and validate; raises ConfigError (every diagnostic) or FileError."""
    return files.load(path)


@dataclass(frozen=True)
class Watch:
    """What shows a check's progress: the explicit search's figures, and the stage the
    check is in (z3's work reports nothing else)."""

    progress: Progress
    stage: Stage


def options(args: argparse.Namespace, watch: Watch | None = None) -> Options:
    """The checker's options from the command line."""
    return Options(
        engine=Engine(getattr(args, "engine", Engine.AUTO.value)),
        max_down=getattr(args, "max_down", None), faults=getattr(args, "faults", None),
        compose=getattr(args, "compose", True), symmetry=getattr(args, "symmetry", True),
        reduction=getattr(args, "reduction", True),
        max_events=getattr(args, "max_depth", None),
        keep_going=getattr(args, "keep_going", False),
        max_states=getattr(args, "max_states", None), memory=getattr(args, "memory", None),
        auto_states=getattr(args, "auto_states", None) or AUTO_STATES,
        liveness_states=getattr(args, "liveness_states", None),
        liveness_time=getattr(args, "liveness_time", None),
        jobs=getattr(args, "jobs", None),
        progress=watch.progress if watch is not None else None,
        stage=watch.stage if watch is not None else None)


def verify(report: Report, args: argparse.Namespace, watch: Watch | None = None) -> ExitCode:
    """Check the valid configuration ``report.config``; the checker's report goes to
    ``report.result``, the traces under ``--out``."""
    from crg.checker.api import CheckError, check
    from crg.checker.report import itf

    config = report.config
    assert config is not None
    try:
        result = check(config, options(args, watch))
    except CheckError as exc:
        report.error = str(exc)
        return ExitCode.BAD_INPUT
    report.result = result
    out_dir = getattr(args, "out", None)
    if out_dir:
        stem = getattr(args, "itf_stems", {}).get(report.path)
        auto = result.engine == Engine.AUTO.value
        plain = (result.violations if auto
                 else result.explicit.violations if result.explicit is not None else [])
        tagged = result.symbolic.violations if result.symbolic and not auto else []
        try:
            for v in plain:
                report.itf_paths[v.prop.ident] = itf.write(out_dir, report.path, v,
                                                           stem=stem)
            invariants = (result.symbolic.details.get("invariants", {})
                          if result.symbolic is not None and tagged else {})
            assert isinstance(invariants, dict)
            for v in tagged:
                written = itf.write(out_dir, report.path, v, "symbolic", stem)
                report.itf_paths[f"{v.prop.ident}/symbolic"] = written
                if v.prop.label in invariants:
                    invariants[v.prop.label]["itf"] = written
        except itf.TraceWriteError as exc:  # the rest would fail alike (a full disk)
            report.trace_error = FileError(exc.path, exc.reason, "write")
    if result.errors:
        report.error = "; ".join(_internal(e) for e in result.errors)
    return _EXIT[result.status.value]


def _internal(error: str) -> str:
    if error.startswith("the explicit and symbolic engines disagree"):
        return error + " (a bug in crg; please report it)"
    return ("internal error in the symbolic engine (a bug in crg; please report it): "
            + error)


def explain(report: Report, args: argparse.Namespace) -> ExitCode:
    """``--explain-coverage``: only the coverage question, answered by z3."""
    config = report.config
    assert config is not None
    max_down = getattr(args, "max_down", None)
    if max_down is not None and max_down > len(config.nodes):
        report.error = (f"--max-down {max_down}: the cluster has only "
                        f"{count(len(config.nodes), 'node')}")
        return ExitCode.BAD_INPUT
    from crg.checker.symbolic.coverage import explain_coverage

    report.coverage = explain_coverage(config, max_down)
    return ExitCode.OK if report.coverage.ok else ExitCode.VIOLATED


@contextlib.contextmanager
def _progress(out: Output | None, path: str, args: argparse.Namespace
              ) -> Iterator[Watch | None]:
    """A live line on a terminal's stderr while a long search runs; elsewhere (a CI log, a
    pipe) a plain line every PLAIN_PROGRESS_S, so that a search of many minutes does not
    look hung (it printed nothing at all until its verdict)."""
    if out is None:
        yield None
        return
    if args.format != "text" or not out.err_is_terminal:
        plain = PlainProgress(out, path)
        beat = threading.Thread(target=plain.heartbeat, name="crg-check-heartbeat",
                                daemon=True)
        beat.start()
        try:
            yield Watch(plain.update, plain.stage)
        finally:
            plain.done.set()
            beat.join(timeout=1.0)
        return
    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    # The time first: a stage's words may be cut at the terminal's edge, the time never.
    # The words take what room is left, cut with an ellipsis: on an 80-column terminal
    # a long stage pushed the time, then the spinner, out of the line.
    words = TextColumn("{task.description}",
                       table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1))
    with Bar(SpinnerColumn(), TimeElapsedColumn(), words, console=Console(file=out.stderr),
             transient=True, expand=True) as bar:
        task = bar.add_task(f"checking {path}", total=None)

        def update(states: int, layer: int, seconds: float) -> None:
            rate = states / seconds if seconds > 0 else 0.0
            bar.update(task, description=f"checking {path}: {states:,} states, "
                                         f"{count(layer, 'event')} deep, {rate:,.0f} states/s")

        def stage(what: str) -> None:
            bar.update(task, description=f"checking {path}: {what}")

        yield Watch(update, stage)


PLAIN_PROGRESS_S = 30.0
"""How often a search not on a terminal says how far it got."""
FRESH_S = 3.0
"""Figures this recent are a search still reporting (it does, every second at least)."""


class PlainProgress:
    """A line every PLAIN_PROGRESS_S: the explicit search's figures when it reports them,
    else — z3 proving a component, which reports nothing — that the check still runs (a
    proof of a minute in a CI log was a minute of silence, like a hung job)."""

    def __init__(self, out: Output, path: str) -> None:
        self.out, self.path = out, path
        self.began = time.monotonic()
        self.said = self.began
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.doing = ""
        """The stage the check is in (:meth:`stage`)."""
        self.figures, self.figures_at = "", 0.0
        """The search's latest figures, and when they came."""

    def update(self, states: int, layer: int, seconds: float) -> None:
        rate = states / seconds if seconds > 0 else 0.0
        self.figures = (f"{states:,} states, {count(layer, 'event')} deep, {rate:,.0f} "
                        f"states/s, {seconds:.0f} s")
        self.figures_at = time.monotonic()
        self._say(self.figures)

    def stage(self, what: str) -> None:
        """Said with the next heartbeat: z3's stages come too fast and too many to print
        each (an unrolling asks a query per depth)."""
        self.doing = what

    def heartbeat(self) -> None:
        while not self.done.wait(max(0.05, min(1.0, PLAIN_PROGRESS_S))):
            # On its own thread, a standard error that went away (a closed pipe) would end
            # in a thread's traceback: the check's own output says so, in the main thread.
            with contextlib.suppress(OSError):
                # Figures reported within the last seconds are the news (a search on
                # several processes reports at the parent's ticks, and the heartbeat
                # must not say "still checking" over them); older ones are a finished
                # search's, and z3 works on.
                if time.monotonic() - self.figures_at < FRESH_S:
                    self._say(self.figures)
                    continue
                doing = f": {self.doing}" if self.doing else ""
                self._say(f"still checking, {time.monotonic() - self.began:.0f} s{doing}")

    def _say(self, what: str) -> None:
        with self.lock:
            if time.monotonic() - self.said < PLAIN_PROGRESS_S:
                return
            self.said = time.monotonic()
            self.out.print(f"crg check {self.path}: {what}", err=True)


def print_report(out: Output, report: Report) -> None:
    if report.problem is not None:
        out.problem(report.problem)
        return
    if report.error is not None and report.verdict is not ExitCode.INTERNAL:
        out.error(f"{report.shown}: {report.error}")
        return
    config = report.config
    assert config is not None
    if not report.warned:
        out.diagnostics(config.source, config.warnings, with_summary=False)
    facts = [count(len(config.nodes), "node"), count(len(config.groups), "group")]
    if config.warnings:
        facts.append(count(len(config.warnings), "warning"))
    if report.coverage is not None:
        out.print(report.coverage.render_text())
        return
    result = report.result
    if result is None:
        out.print(f"{report.shown}: ok ({', '.join(facts)})")
        return
    if result.explicit is not None:
        from crg.checker.report.text import print_check

        print_check(out, report.shown, config, result, report.itf_paths)
    symbolic = result.symbolic
    if symbolic is not None and result.engine != Engine.AUTO.value:
        from crg.checker.report.text import print_violation
        from crg.checker.symbolic.render import render_text

        # z3's runs, replayed on the model, read as the explicit engine's: what changed
        # at each step, the hint, the replay (with both engines, those are shown above)
        out.print(render_text(symbolic.verdicts, symbolic.details,
                              runs=result.explicit is not None))
        if result.explicit is None:
            for v in result.violations:
                out.print()
                print_violation(out, report.shown, config, v, report.itf_paths.get(
                    f"{v.prop.ident}/symbolic"))
    for limit in result.limits:
        out.print(f"  limit: {limit}", style="yellow")
    if report.verdict is ExitCode.INTERNAL:
        # what was found is shown above; the verdict is that crg cannot be trusted here
        out.error(f"{report.shown}: {report.error}")
    elif report.verdict is ExitCode.VIOLATED:
        # In the order of the table (the properties'), whichever engine found them: the
        # symbolic engine's were sorted by name, the explicit engine's were not.
        broken = [r.prop.label for r in result.results.values()
                  if r.verdict.value == "violated"]
        out.print(f"{report.shown}: violated: {', '.join(broken) or 'see above'}"
                  f"{_left_open(result)} ({', '.join(facts)})", style="bold red")
        if result.undecided:
            _after_violation_hint(out, result)
    elif report.verdict is ExitCode.INCONCLUSIVE:
        out.print(f"{report.shown}: inconclusive: no violation, but not decided: "
                  f"{', '.join(result.undecided)} ({', '.join(facts)})", style="bold yellow")
        _hint(out, result)
    elif result.bounded is not None:
        out.print(f"{report.shown}: no violation within {count(result.bounded, 'event')} "
                  f"(bounded, not a proof) ({', '.join(facts)})", style="yellow")
    else:
        out.print(f"{report.shown}: ok ({', '.join(facts)})")


def _left_open(result: CheckerReport) -> str:
    """``; not decided: blocked`` after a violation (all of them named up to three): the
    table shows them unknown, the verdict line must not read as if the rest held."""
    left = result.undecided
    if not left:
        return ""
    return f"; not decided: {', '.join(left)}" if len(left) <= 3 else (
        f"; {len(left)} properties not decided")


def _after_violation_hint(out: Output, result: CheckerReport) -> None:
    """Why properties stay open beside a violation, and what decides them."""
    options: object = (result.explicit.options if result.explicit is not None
                       else result.symbolic.details.get("options")
                       if result.symbolic is not None else None)
    if isinstance(options, dict) and not options.get("keep_going", True):
        out.print("  = hint: the check stops at the first violation; --keep-going decides "
                  "the other properties too", err=True)
    elif result.explicit is not None and any(
            c.limit in ("auto", "states", "memory") for c in result.explicit.components):
        out.print("  = hint: the explicit search handed a component to z3 at its state limit "
                  "and z3 left these open; --auto-states N lets the search go further "
                  "first, --engine explicit searches it whole", err=True)
    else:
        _hint(out, result)


def _hint(out: Output, result: CheckerReport) -> None:
    from crg.checker.result import PROPERTIES
    from crg.checker.symbolic.ranking import OUT_OF_TIME

    liveness = {p.label for p in PROPERTIES if p.liveness}
    reasons = " ".join(r.reason for r in result.results.values())
    if result.limits:
        out.print("  = hint: a search stopped at its budget; --memory or --max-states raise "
                  "it, --engine symbolic does not enumerate states", err=True)
    elif "linked by avoid" in reasons:
        out.print("  = hint: groups linked by avoid, either way, are checked as one "
                  "component; keep avoid for the groups that need it", err=True)
    elif result.symbolic is not None and liveness & set(result.undecided) and any(
            words in reasons for words in OUT_OF_TIME):
        out.print("  = hint: z3 ran out of time for the ranking function that would prove "
                  f"liveness; {_more_time(result.symbolic.details)}", err=True)
    elif result.symbolic is not None and liveness & set(result.undecided):
        out.print("  = hint: components too large for the explicit liveness check; "
                  "--liveness-states N raises its limit (time grows with N), or check "
                  "with --engine explicit", err=True)


def _more_time(details: dict[str, Any]) -> str:
    """The ``--liveness-time`` to try next: five minutes, or twice what the check had when
    it had that already (to suggest five minutes again after five would waste them; a
    chase of owners round a cycle of four groups took 7 minutes to bound)."""
    options = details.get("options")
    given = options.get("liveness_time_s") if isinstance(options, dict) else None
    had = float(given) if isinstance(given, int | float) else 0.0
    minutes = max(5, math.ceil(2 * had / 60))
    return (f"--liveness-time {minutes}m gives it {count(minutes, 'minute')} per component"
            + (f" (it had {duration_text(round(had * 1000))})" if had >= 300 else ""))


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
        return entry
    if isinstance(report.problem, ConfigError):
        entry["status"] = "invalid"
        entry["diagnostics"] = [diagnostic_to_dict(d) for d in report.problem.diagnostics]
        return entry
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
    if report.coverage is not None:
        entry["coverage"] = report.coverage.as_json()
    result = report.result
    if result is None:
        return entry
    from crg.checker.report.data import combined_to_dict, report_to_dict

    entry["engine"] = result.engine
    entry["verdicts"] = {r.prop.label: r.verdict.value for r in result.results.values()}
    entry["properties"] = combined_to_dict(report.path, result.results, report.itf_paths,
                                           config)
    if result.explicit is not None:
        entry["check"] = report_to_dict(report.path, result.explicit, report.itf_paths,
                                        config)
    if result.symbolic is not None:
        entry["symbolic"] = result.symbolic.as_json()
    if result.undecided:
        entry["undecided"] = list(result.undecided)
    if result.bounded is not None:
        entry["bounded"] = result.bounded
    if result.disagreements:
        entry["disagreements"] = list(result.disagreements)
    if result.limits:
        entry["limits"] = list(result.limits)
    return entry
