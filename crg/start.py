"""The ``crg`` command's first instructions: the signal handling, then everything else.

Ctrl-C (SIGINT) exits 130 and SIGTERM 143, without a traceback, at any moment of a
command's life — including the second or so in which Python imports the command line,
the specification and rich. So the handling is installed here, in a module that imports
nothing heavy, before the command line itself is imported: the console script
(``crg``) and ``python -m crg`` both start with :func:`main`. (``crg run`` takes over
both signals once its event loop runs: they drain the cluster, README "crg run".)
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from crg.errors import ExitCode, Terminated


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _quiet()
    raise KeyboardInterrupt


def _terminate(signum: int, frame: FrameType | None) -> None:
    _quiet()
    raise Terminated


def install() -> None:
    """SIGTERM raises :class:`Terminated`, SIGINT :class:`KeyboardInterrupt` — unless the
    parent made this process ignore them (``nohup``, a background job), which stands.
    The first signal ignores the ones after it: the exit code is decided then, and a
    second signal while the first is being handled must not become a traceback."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
        signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _interrupt)


def _quiet() -> None:
    """The exit code is decided: a late signal must not turn it into a traceback."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    # Everything inside the try, install() too: a signal may arrive the instant the
    # first handler is in place (the signal tests send it exactly then).
    try:
        install()
        from crg.cli import main as cli_main

        code = cli_main(argv)
        _quiet()
    except KeyboardInterrupt:
        sys.stderr.write("\n")  # end the line the ^C was echoed on
        code = ExitCode.INTERRUPTED
    except Terminated:
        code = ExitCode.TERMINATED
    return int(code)
