"""The ``crg`` command's first instructions: the signal handling, then everything else.

Ctrl-C (SIGINT) exits 130 and SIGTERM 143, without a traceback, at any moment of a
command's life — including the second or so in which Python imports the command line,
the specification and rich. So the handling is installed by this module's very first
statements, when it is imported: the console script (``crg``) and ``python -m crg`` import
it first thing and then call :func:`main`. Nothing before the handlers may cost time:
``signal.py`` builds three enum classes and :mod:`crg.errors` another, so this module uses
the built-in ``_signal`` and plain ints. Until :func:`main` runs, a signal exits at once
(``SystemExit``: nothing has started that needs undoing); from then on it raises
:class:`KeyboardInterrupt` or :class:`~crg.errors.Terminated`, which the commands clean
up after. (``crg run`` takes over both signals once its event loop runs: they drain the
cluster, README "crg run".) Nothing else imports this module: importing it installs the
handlers, which a library user of crg must not get.
"""

import _signal  # type: ignore[import-not-found]  # built in: nothing to load or build
import sys
from os import _exit

INTERRUPTED = 130
"""ExitCode.INTERRUPTED, 128 + SIGINT (crg.errors is not loaded yet: tests/test_signals.py
checks that the two agree)."""
TERMINATED = 143
"""ExitCode.TERMINATED, 128 + SIGTERM."""

_raised: dict[int, type[BaseException]] = {}
"""What a signal raises once :func:`main` runs; empty before: then it exits."""
_fired: list[int] = []
"""The signal that came, if one did: it decides the exit code, whatever became of the
exception it raised (Python 3.11 wraps one raised in a class's ``__set_name__`` — a
dataclass being defined while a module loads — in a RuntimeError)."""


def _code(signum: int) -> int:
    return INTERRUPTED if signum == _signal.SIGINT else TERMINATED


def _interrupt(signum: int, frame: object) -> None:
    _quiet()
    _fired.append(signum)
    if signum in _raised:
        raise _raised[signum]
    if signum == _signal.SIGINT and sys.stderr is not None:
        sys.stderr.write("\n")  # end the line the ^C was echoed on
    raise SystemExit(_code(signum))


def install() -> None:
    """SIGTERM and SIGINT end crg quietly — unless the parent made this process ignore
    them (``nohup``, a background job), which stands. The first signal ignores the ones
    after it: the exit code is decided then, and a second signal while the first is being
    handled must not become a traceback."""
    both = {_signal.SIGINT, _signal.SIGTERM}
    # Both at once: a SIGINT between the two would meet Python's own handler (a traceback).
    # Held back meanwhile, and delivered when the mask the process had is back.
    before = _signal.pthread_sigmask(_signal.SIG_BLOCK, both)
    try:
        for sig in (_signal.SIGTERM, _signal.SIGINT):
            if _signal.getsignal(sig) != _signal.SIG_IGN:
                _signal.signal(sig, _interrupt)
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, before)


def _quiet() -> None:
    """The exit code is decided: a late signal must not turn it into a traceback."""
    for sig in (_signal.SIGINT, _signal.SIGTERM):
        _signal.signal(sig, _signal.SIG_IGN)


def _unraisable(hook: "sys.UnraisableHookArgs") -> None:
    """Python prints an exception raised where it cannot be (a weakref callback, a
    ``__del__``, a module lock's cleanup as an import ends) and carries on: a signal's
    exception landing there would be lost, with a traceback, and the command would run on
    as if nothing had come. Once a signal came, such a loss ends the process with the
    signal's code; anything else is printed as Python would."""
    ours: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, *_raised.values())
    if _fired and issubclass(hook.exc_type, ours):
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:  # a closed or broken stream: the exit code still says it
                pass
        _exit(_code(_fired[0]))
    sys.__unraisablehook__(hook)


sys.unraisablehook = _unraisable
install()  # before anything else this module, or the command, does


def main(argv: list[str] | None = None) -> int:
    # A signal before the handlers raise exceptions exits 130/143 by itself (SystemExit,
    # which nothing here catches); crg.errors is loaded first for the one they raise.
    try:
        from crg.errors import Terminated

        _raised.update({_signal.SIGINT: KeyboardInterrupt, _signal.SIGTERM: Terminated})
        from crg.cli import main as cli_main

        code = cli_main(argv)
        _quiet()
    except BaseException:  # KeyboardInterrupt, Terminated, or one a signal became
        if not _fired:
            raise
        if _fired[0] == _signal.SIGINT:
            sys.stderr.write("\n")  # end the line the ^C was echoed on
    if _fired:  # also when a command ended meanwhile, or took it for an error of its own
        return _code(_fired[0])
    return int(code)
