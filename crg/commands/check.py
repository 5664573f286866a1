"""``crg check FILE...``: validate configurations, then prove them safe.

Every file is checked and reported, also after a bad one. Validation is
:func:`validate`; the model checker joins in :func:`verify`, which only ever sees a valid
configuration.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crg import files
from crg.commands import add_format
from crg.dsl import Config, ConfigError
from crg.dsl.export import diagnostic_to_dict
from crg.errors import ExitCode, FileError
from crg.output import Output, count

if TYPE_CHECKING:
    from crg.commands import Subparsers


@dataclass
class Report:
    """What ``check`` found out about one file."""

    path: str
    config: Config | None = None
    problem: ConfigError | FileError | None = None
    verdict: ExitCode = ExitCode.OK
    details: dict[str, Any] = field(default_factory=dict)
    """Extra facts for ``--format json`` (the checker adds its results here)."""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="validate configurations and prove them safe",
        description="Parse and validate each FILE and report every problem found. "
                    "Exit status: 0 all good, 1 a property is violated, 2 bad input.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="a .crg configuration")
    add_format(parser, ("text", "json"), "text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()
    reports = []
    for path in args.files:
        report = check_file(path, args)
        reports.append(report)
        if args.format == "text":
            print_report(out, report)
    if args.format == "json":
        out.json(reports_to_dict(reports))
    return max((r.verdict for r in reports), default=ExitCode.OK)


def check_file(path: str, args: argparse.Namespace) -> Report:
    report = Report(path)
    try:
        report.config = validate(path)
    except (ConfigError, FileError) as exc:
        report.problem = exc
        report.verdict = ExitCode.BAD_INPUT
        return report
    report.verdict = verify(report, args)
    return report


def validate(path: str) -> Config:
    """Parse and validate; raises ConfigError (every diagnostic) or FileError."""
    return files.load(path)


def verify(report: Report, args: argparse.Namespace) -> ExitCode:
    """Prove the invariants of the valid configuration ``report.config``.

    The model checker plugs in here: it returns VIOLATED when a property fails and puts
    what ``--format json`` should show into ``report.details``. Until it lands, a valid
    configuration passes.
    """
    return ExitCode.OK


def print_report(out: Output, report: Report) -> None:
    if report.problem is not None:
        out.problem(report.problem)
        return
    config = report.config
    assert config is not None
    out.diagnostics(config.source, config.warnings, with_summary=False)
    facts = [count(len(config.nodes), "node"), count(len(config.groups), "group")]
    if config.warnings:
        facts.append(count(len(config.warnings), "warning"))
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
        entry["status"] = "ok" if report.verdict is ExitCode.OK else "violated"
        entry["nodes"] = len(config.nodes)
        entry["groups"] = len(config.groups)
        entry["diagnostics"] = [diagnostic_to_dict(d) for d in config.warnings]
    entry.update(report.details)
    return entry
