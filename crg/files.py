"""Reading and writing the files named on the command line."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence

from crg.dsl import Config, Source, decode_source, read_capped
from crg.dsl import parse as _parse
from crg.errors import FileError

STDIN = "-"
STDIN_NAME = "<stdin>"
"""What standard input is called in what crg says of it: its diagnostics
(``<stdin>:3:5: error: ...``), ``crg fmt``'s and ``crg check``'s lines."""


def read(path: str, decode: Callable[[bytes, str], Source] = decode_source) -> Source:
    """The file's text (``-`` is standard input); raises FileError, or ConfigError when
    ``decode`` cannot make text of the bytes (by default: when they are not UTF-8)."""
    try:
        if path == STDIN:
            if sys.stdin is None:  # started with standard input closed (<&-)
                raise FileError(path, "standard input is closed")
            return decode(read_capped(sys.stdin.buffer), STDIN_NAME)
        with open(path, "rb") as handle:
            return decode(read_capped(handle), path)
    except OSError as exc:
        raise FileError(path, exc.strerror or str(exc)) from None


def shown(path: str) -> str:
    """``path`` as crg's messages name it: ``<stdin>`` for ``-``, as its diagnostics do."""
    return STDIN_NAME if path == STDIN else path


def output(value: str) -> str | None:
    """The value of ``-o OUT`` (an argparse type): ``-`` is standard output (None), as
    ``-`` is standard input for a file read; it wrote a file named ``-``."""
    return None if value == STDIN else value


def stdin_once(paths: Sequence[str]) -> None:
    """FileError when ``-`` is named more than once: standard input is read whole the
    first time, and the second ``-`` was an empty file ("no cluster block")."""
    if (times := paths.count(STDIN)) > 1:
        raise FileError(STDIN, f"named {times} times, and standard input can be read only "
                               "once")


def load(path: str) -> Config:
    """Read, parse and validate one configuration; raises FileError or ConfigError."""
    source = read(path)
    return _parse(source.text, source.path)


def write(path: str, text: str) -> None:
    """Replace a file's contents (or create the file) through a temporary file, so that a
    full disk or a crash never leaves a configuration half-written. Mode and symlinks of
    an existing file are kept. A path that is not a regular file (``/dev/stdout``, a FIFO,
    ``/dev/null``) is written to as it is: replacing it would put a regular file where a
    device or pipe was."""
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        special = False
    if special:
        try:
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        except OSError as exc:
            raise FileError(path, exc.strerror or str(exc), "write") from None
        return
    target = os.path.realpath(path)
    temporary = ""
    try:
        # A new file of a name nobody can guess (O_EXCL, no link followed): a fixed
        # name.crg-tmp in a directory others may write was a link anyone could plant to
        # a file of the user's, which the write then replaced.
        fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.",
                                         suffix=".crg-tmp", dir=os.path.dirname(target))
        with open(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        if os.path.exists(target):
            shutil.copymode(target, temporary)
        else:  # as open() would have made it (mkstemp makes it 0600)
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, target)
    except OSError as exc:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)
        raise FileError(path, exc.strerror or str(exc), "write") from None


def check_output(output: str, inputs: Iterable[str]) -> None:
    """Raise FileError when ``output`` (``-o OUT``) is one of the ``inputs`` (the same file
    under any name): the result would replace what it was made from (``crg export
    pacemaker -o web.crg web.crg`` put a CIB where the configuration was)."""
    for path in inputs:
        if path == STDIN:
            continue
        try:
            same = os.path.samefile(output, path)
        except OSError:  # either is missing: not the same file (reading says the rest)
            same = False
        if same:
            raise FileError(output, f"it is the input file {path}: it would be replaced by "
                                    "the output; choose another -o", "write")
