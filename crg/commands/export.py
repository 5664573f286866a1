"""``crg export pacemaker FILE [--format cib|pcs]``: deploy a configuration on Pacemaker.

The document goes to stdout (or ``--output``); every part of the configuration that has
no counterpart is a warning on stderr at its statement, and is listed again in a comment
at the top of the document, so nothing is dropped in silence.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg import files
from crg.bridges.cib_writer import cib_xml
from crg.bridges.pcs_writer import pcs_script
from crg.bridges.to_pacemaker import to_pacemaker
from crg.commands import Exits, add_command
from crg.commands.importer import output_file, replaces
from crg.dsl.diagnostics import Diagnostic
from crg.errors import ExitCode
from crg.output import Output, count

if TYPE_CHECKING:
    from crg.commands import Subparsers

EXITS: Exits = ((ExitCode.OK, "exported (warnings do not count)"),
                 (ExitCode.BAD_INPUT, "bad input: an invalid configuration, an unreadable "
                                      "file, a usage error"))


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "export",
        summary="Write the configuration for another cluster manager (Pacemaker)",
        description="Write FILE's configuration for another cluster manager.", exits=EXITS)
    targets = parser.add_subparsers(title="targets", metavar="TARGET", required=True)
    pacemaker = add_command(
        targets, "pacemaker", summary="A Pacemaker CIB (XML) or a pcs script", exits=EXITS,
        description="Map FILE onto Pacemaker: per group a group of an ocf:heartbeat:IPaddr2 "
                    "VIP and the application, location scores along the candidates, "
                    "stickiness for failback manual, a negative colocation for avoid. "
                    "What has no counterpart is a warning on stderr and a comment in the "
                    "output. The mapping is in README.md (\"Using crg with Pacemaker or "
                    "keepalived\").")
    pacemaker.add_argument("file", metavar="FILE", help="a .crg configuration")
    pacemaker.add_argument("--format", choices=("cib", "pcs"), default="cib",
                           help="cib: a CIB XML document for cibadmin or crm_verify; pcs: a "
                                "shell script of pcs commands (default: cib)")
    pacemaker.add_argument("-o", "--output", metavar="OUT", type=output_file,
                           help="write to OUT instead of standard output (-: standard output)")
    pacemaker.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()
    if args.output:
        files.check_output(args.output, [args.file])
    config = files.load(args.file)
    exported, warnings = to_pacemaker(config)
    notes = [_one_line(config.source.path, w) for w in warnings]
    text = cib_xml(exported, notes) if args.format == "cib" else pcs_script(exported, notes)
    out.diagnostics(config.source, warnings, with_summary=False)
    if args.output:
        replaced = replaces(args.output)
        files.write(args.output, text)
        out.print(f"{'replaced' if replaced else 'wrote'} {args.output} "
                  f"({count(len(warnings), 'warning')})", err=True)
    else:
        out.raw(text)
    return ExitCode.OK


def _one_line(path: str, warning: Diagnostic) -> str:
    return f"{path}:{warning.span.line}: {warning.message}"
