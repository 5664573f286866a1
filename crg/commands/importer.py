"""``crg import pacemaker CIB.xml`` / ``crg import keepalived FILE...``: write a ``.crg``.

The ``.crg`` goes to stdout (or ``--output``), with a comment wherever something did not
map; stderr gets the same list as warnings at their element or line, then a summary.
Malformed or unsupported input is an error at its element or line (exit 2); so is an
imported configuration that crg itself rejects (the file is written all the same, so that
it can be fixed, and the errors point into it).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from crg import files
from crg.bridges.crg_writer import Draft, draft_checked
from crg.bridges.foreign_text import cib_text, keepalived_text
from crg.bridges.from_keepalived import from_keepalived
from crg.bridges.from_pacemaker import from_cib
from crg.bridges.import_notes import ImportFailed, Notes, shown
from crg.bridges.import_secrets import masked_cib, masked_keepalived
from crg.bridges.xml_source import parse_xml
from crg.collections_paced import paced_collections
from crg.commands import Exits, add_command
from crg.dsl import ConfigError, Diagnostic, Source
from crg.errors import ExitCode, FileError
from crg.output import Output, count

if TYPE_CHECKING:
    from crg.commands import Subparsers

EXITS: Exits = ((ExitCode.OK, "imported (warnings do not count)"),
                 (ExitCode.BAD_INPUT, "bad input, or an imported configuration crg rejects "
                                      "(written all the same, with the diagnostics)"))


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "import",
        summary="Write a .crg from a Pacemaker CIB or keepalived configuration",
        description="Write a .crg file from another cluster manager's configuration, so "
                    "that crg check and crg simulate can judge it.", exits=EXITS)
    sources = parser.add_subparsers(title="sources", metavar="SOURCE", required=True)
    pacemaker = add_command(
        sources, "pacemaker", summary="A Pacemaker CIB (XML)", exits=EXITS,
        description="Import a Pacemaker CIB (as 'pcs cluster cib FILE' or 'cibadmin "
                    "--query' writes it): each group of an IPaddr2 address and an "
                    "application becomes a crg group.")
    pacemaker.add_argument("file", metavar="CIB.xml", help="the CIB")
    pacemaker.add_argument("-o", "--output", metavar="OUT", type=output_file,
                           help="write the .crg to OUT instead of standard output (-: "
                                 "standard output)")
    pacemaker.set_defaults(run=run, reader=_pacemaker)
    keepalived = add_command(
        sources, "keepalived", summary="Keepalived configurations, one file per node", exits=EXITS,
        description="Import keepalived configurations, one file per node (the node is "
                    "named by global_defs' router_id, else by the file name): each VRRP "
                    "instance becomes a group, its nodes ordered by priority. The files a "
                    "node's file includes are read with it, as keepalived reads them. With "
                    "one file, the peers are assumed to mirror it (a warning and a comment "
                    "say so).")
    keepalived.add_argument("files", nargs="+", metavar="FILE",
                            help="a node's keepalived.conf (not the files it includes)")
    keepalived.add_argument("-o", "--output", metavar="OUT", type=output_file,
                            help="write the .crg to OUT instead of standard output (-: "
                                 "standard output)")
    keepalived.set_defaults(run=run, reader=_keepalived)


def output_file(value: str) -> str | None:
    """``-o OUT`` (an argparse type): ``-`` is standard output; an empty name is a usage
    error (it wrote to standard output without a word)."""
    if not value:
        raise argparse.ArgumentTypeError("an empty file name: name the file to write, or "
                                         "- for standard output")
    return files.output(value)


def replaces(path: str) -> bool:
    """Whether writing ``path`` replaces a file that is there (a regular one: a FIFO or
    /dev/null is written into, not replaced)."""
    return os.path.isfile(path)


def _cib_text(data: bytes, path: str) -> Source:
    """:func:`cib_text`, its error quoting the line with the passwords starred out (the
    bytes that are not text are shown replaced, the rest of a password line as it is)."""
    try:
        return cib_text(data, path)
    except ConfigError as exc:
        raise ConfigError(masked_cib(exc.source), exc.diagnostics) from None


def _pacemaker(args: argparse.Namespace) -> tuple[Draft, list[Notes]]:
    source = files.read(args.file, _cib_text)
    draft, notes = from_cib(parse_xml(source, shown=masked_cib(source)))
    return draft, [notes]


def _keepalived(args: argparse.Namespace) -> tuple[Draft, list[Notes]]:
    files.stdin_once(args.files)
    return from_keepalived([_keepalived_file(path) for path in args.files], _included_file)


def _included_file(path: str) -> Source:
    """A file an include names: ``-`` there is a file of that name, not standard input."""
    return _keepalived_file(os.path.join(os.curdir, path) if path == files.STDIN else path)


def _keepalived_file(path: str) -> Source:
    """One keepalived configuration, its encoding warning said at once (if any)."""
    said: list[Diagnostic] = []

    def decode(data: bytes, name: str) -> Source:
        source, warning = keepalived_text(data, name)
        said.extend([warning] if warning else [])
        return source

    source = files.read(path, decode)
    # The warning quotes its line, which may hold the VRRP password.
    Output().diagnostics(masked_keepalived(source), said, with_summary=False)
    return source


def run(args: argparse.Namespace) -> int:
    out = Output()
    if args.output:
        files.check_output(args.output, args.files if "files" in args else [args.file])
    reader: Callable[[argparse.Namespace], tuple[Draft, list[Notes]]] = args.reader
    try:
        with paced_collections():
            draft, notes = reader(args)
    except ImportFailed as failed:
        # Every warning said before the error, then the error (with its file's summary).
        for file_notes in failed.notes:
            _warnings(out, file_notes, written=False)
        out.problem(failed)
        return ExitCode.BAD_INPUT
    if args.output:
        _not_included(args.output, draft)
    path = args.output or f"{draft.name}.crg"
    replaced = bool(args.output) and replaces(args.output)
    with paced_collections():
        text, checked = draft_checked(draft, path)
    for file_notes in notes:
        _warnings(out, file_notes, written=True)
    unmapped = sum(len(n.items) for n in notes)
    if args.output:
        files.write(args.output, text)
    else:
        out.raw(text)
    if isinstance(checked, ConfigError):
        out.problem(checked)
        if args.output:
            out.error(f"the imported configuration does not validate; fix {path} where shown"
                      + (" (it replaced the file that was there)" if replaced else ""))
        else:
            out.error("the imported configuration, written to standard output, does not "
                      f"validate; save it as {path} and fix it where shown")
        return ExitCode.BAD_INPUT
    out.print(f"imported {count(len(draft.groups), 'group')} on "
              f"{count(len(draft.nodes), 'node')}"
              + (f" into {args.output}" if args.output else "")
              + (" (replaced the file that was there)" if replaced else "")
              + (f"; {count(unmapped, 'thing')} did not map (comments in the .crg say "
                 "where)" if unmapped else "; everything mapped"), err=True)
    return ExitCode.OK


def _not_included(output: str, draft: Draft) -> None:
    """Refuse ``-o`` naming a file that an input includes, as one naming an input: the
    import would replace part of the configuration it was made from."""
    for path, by in draft.included:
        try:
            same = os.path.samefile(output, path)
        except OSError:
            same = False
        if same:
            raise FileError(output, f"it is the input file {path} (which {by} includes): it "
                                    "would be replaced by the output; choose another -o",
                            "write")


def _warnings(out: Output, notes: Notes, *, written: bool) -> None:
    """An input's warnings, those alike beyond the first few counted in one line each."""
    items, left_out = shown(notes.items)
    out.diagnostics(notes.source, items, with_summary=False)
    for alike in left_out:
        out.print(f"{notes.source.path}: {count(alike.count, 'more warning')} like "
                  f"'{alike.example}'" + (" (the .crg has each as a comment)" if written
                                          else ""), err=True)
