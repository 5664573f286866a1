"""What a command line makes the system run or load, read as far as it can be without
running it: the files whose owners decide what a command does (:mod:`crg.program_trust`
asks of each whether another user could change it).

Read are: the program (looked up on the command's ``PATH``, with the directories searched
before the one that holds it) and, where it is not there yet, where it would be put; a
script's ``#!`` interpreter; after a launcher (``env``, ``nohup``, ``timeout``, ``sudo``...)
the program it starts, ``env``'s ``-S`` string, ``-C`` directory and assignments
included; a shell's command line (``-c``), each of its commands (split at ``;``, ``&&``,
``|``...), and a shell's script; an interpreter's script and every file named among its
arguments, Perl's and Ruby's ``-I`` directories, the directory Python imports from first
and the directories Node looks for ``node_modules`` in; any executable named by its path
anywhere on the line (``awk 'BEGIN { system("/opt/x") }'``); and the paths variables such
as ``LD_PRELOAD`` or ``PYTHONPATH`` make programs load code from. A program's own ways of
finding code (plugins, a ``cd`` in a command line) are beyond this reading.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from crg.config_trust import others_can_change
from crg.dsl.source import Span

Found = tuple[str, str]
"""(what is run or loaded, why another user could change it)."""

SHELL = re.compile(r"(?:ba|da|k|z|c|tc|mk|a)?sh")
PYTHON = re.compile(r"python[0-9.]*|pypy[0-9.]*")
NODE = re.compile(r"node(?:js)?|bun")
INTERPRETER = re.compile(r"perl[0-9.]*|ruby[0-9.]*|node(?:js)?|php[0-9.]*|lua[0-9.]*"
                         r"|tclsh[0-9.]*|Rscript|bun|deno|g?awk|mawk|sed|tclsh|expect")
"""Programs (besides shells and Python) that run a script given on their command line."""
LAUNCHERS = frozenset({"nohup", "timeout", "nice", "setsid", "stdbuf", "chrt", "ionice",
                       "taskset", "flock", "exec", "command", "time", "xargs", "setpriv",
                       "unshare", "nsenter", "prlimit", "runuser", "su", "sudo", "doas",
                       "chroot", "systemd-run", "systemd-cat", "daemonize", "watch",
                       "strace", "ltrace", "valgrind", "catchsegv", "faketime", "torsocks",
                       "proxychains", "numactl", "cgexec", "firejail", "bwrap"})
"""Programs that start another program given later on their command line."""
SHELL_VALUES = frozenset({"-o", "+o", "-O", "+O"})
"""Shell options whose value is the next word."""
SHELL_FILES = frozenset({"--rcfile", "--init-file"})
"""Shell options whose value is a file of commands it runs."""
PYTHON_VALUES = frozenset({"-W", "-X", "-Q", "--check-hash-based-pycs"})
"""Python options whose value is the next word (not a script)."""
OPERATORS = frozenset(";&|()<>\n")
"""The characters of a shell's control and redirection operators."""
RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until",
                      "for", "case", "esac", "{", "}", "!", "exec", "command", "builtin",
                      "time", "nohup"})
"""Words before a shell command's program that are not it."""
DEPTH = 6
"""Launchers and shells followed within one another at most."""

LOADERS = frozenset({"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH",
                     "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE",
                     "PYTHONPYCACHEPREFIX", "PERL5LIB", "PERLLIB", "PERL5OPT", "RUBYLIB",
                     "RUBYOPT", "NODE_PATH", "NODE_OPTIONS", "BASH_ENV", "ENV",
                     "JAVA_TOOL_OPTIONS", "CLASSPATH", "LUA_PATH", "LUA_CPATH",
                     "TCLLIBPATH"})
"""Environment variables whose paths programs load code from (``LD_PRELOAD=/tmp/x.so``
runs ``x.so`` in every program started). Not ``HOME``, though Python reads its user
site-packages there: an application given its service user's home (``runuser -u
postgres``) is common, and refusing every such configuration would be worse."""
PATH_LISTS = frozenset({"LD_PRELOAD", "LD_LIBRARY_PATH", "GCONV_PATH", "PYTHONPATH",
                        "PERL5LIB", "PERLLIB", "RUBYLIB", "NODE_PATH", "CLASSPATH"})
"""Of those, the ones that are lists of paths alone: a relative one is taken from the
working directory (the others hold options too, whose words are not paths)."""

_ABSOLUTE = re.compile(r"(?<![\w.~-])/[^\s'\"`;|&(){}<>$,]+")
"""An absolute path in a word (``system("/opt/x/run")``, ``-I/opt/lib``)."""


@dataclass(frozen=True, slots=True)
class Launch:
    """One command the runtime will run (on one node): what it is, where it is written,
    and how the runtime starts it."""

    what: str
    span: Span
    words: tuple[str, ...]
    path: tuple[str, ...]
    """The directories a program name is looked for in."""
    directory: str
    """Its working directory."""
    env: tuple[tuple[str, str], ...] = ()
    """What the configuration puts in its environment (the application's ``env``)."""


def judged(launch: Launch) -> Iterator[Found]:
    """What ``launch`` runs or loads that another user could change."""
    yield from _command(launch.words, launch, 0)
    yield from loaded(launch)


def _command(words: Sequence[str], launch: Launch, depth: int) -> Iterator[Found]:
    if not words or depth > DEPTH:
        return
    found = _find(words[0], launch)
    rest = list(words[1:])
    if found is None:
        # not there (yet): where it would be; its arguments are read all the same
        yield from _unfound(words[0], launch)
        file = words[0]
    else:
        file, before = found
        for folder in before:
            if (why := others_can_change(folder, adding=True)) is not None:
                yield file, why
        if (why := others_can_change(file)) is not None:
            yield file, why
        if interpreter := _shebang(file):
            # the kernel runs the interpreter with the script: Python imports from its
            # folder
            yield from _command([*interpreter, file], launch, depth + 1)
    base = os.path.basename(file)
    if base == "env":
        yield from _env(rest, launch, depth)
    elif base in LAUNCHERS:
        yield from _launched(rest, launch, depth)
    elif SHELL.fullmatch(base):
        yield from _shell(rest, launch, depth)
    elif PYTHON.fullmatch(base):
        yield from _python(rest, launch)
    elif INTERPRETER.fullmatch(base):
        yield from _interpreter(base, rest, launch)
    yield from _named_programs(rest, launch)


# -- launchers -------------------------------------------------------------------------


def _launched(rest: Sequence[str], launch: Launch, depth: int) -> Iterator[Found]:
    """The program a launcher starts: the first word after it that is a program or a path
    (``timeout 3600 /opt/x``), or — ``su -c``, ``flock -c`` — a shell command line."""
    if "-c" in rest[:-1]:
        yield from _shell_line(rest[rest.index("-c") + 1], launch, depth)
    started = next((i for i, w in enumerate(rest) if not w.startswith("-")
                    and ("/" in w or _find(w, launch, executable=True) is not None)), None)
    if started is not None:
        yield from _command(rest[started:], launch, depth + 1)
    elif operands := [w for w in rest if not w.startswith("-")]:
        yield from _unfound(operands[0], launch)  # a name on PATH: PATH's directories


def _env(rest: Sequence[str], launch: Launch, depth: int) -> Iterator[Found]:
    """``env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE]... PROGRAM``."""
    words, i = list(rest), 0
    directory, assigned = launch.directory, list[tuple[str, str]]()
    while i < len(words):
        word = words[i]
        split = (words[i + 1] if word in ("-S", "--split-string") and i + 1 < len(words)
                 else word[2:] if word.startswith("-S") and len(word) > 2
                 else word.partition("=")[2] if word.startswith("--split-string=")
                 else None)
        if split is not None:
            taken = 2 if word in ("-S", "--split-string") else 1
            words[i:i + taken] = _split(split)
            continue
        if word in ("-C", "--chdir") and i + 1 < len(words):
            directory, i = os.path.join(directory, words[i + 1]), i + 2
        elif word.startswith("--chdir="):
            directory, i = os.path.join(directory, word.partition("=")[2]), i + 1
        elif word in ("-u", "--unset"):
            i += 2
        elif word.startswith("-"):
            i += 1
        elif re.fullmatch(r"[A-Za-z_]\w*=.*", word):
            name, _, value = word.partition("=")
            assigned.append((name, value))
            i += 1
        else:
            break
    moved = replace(launch, directory=directory, env=tuple(assigned))
    yield from loaded(moved)
    yield from _command(words[i:], moved, depth + 1)


# -- shells ----------------------------------------------------------------------------


def _shell(rest: Sequence[str], launch: Launch, depth: int) -> Iterator[Found]:
    """``sh [options] -c LINE [NAME ARGS...]``: LINE's commands; ``sh SCRIPT``: the
    script; an ``--rcfile``: commands too."""
    i, lines = 0, False
    operands: list[str] = []
    while i < len(rest):
        word = rest[i]
        if word in SHELL_VALUES:
            i += 2
        elif word in SHELL_FILES and i + 1 < len(rest):
            yield from _script(rest[i + 1], launch)
            i += 2
        elif word == "--":
            operands += rest[i + 1:]
            break
        elif word.startswith(("-", "+")) and len(word) > 1:
            lines = lines or (not word.startswith("--") and "c" in word[1:])
            i += 1
        else:
            operands += rest[i:]
            break
    if lines:
        if operands:
            yield from _shell_line(operands[0], launch, depth)
    elif operands:
        yield from _script(operands[0], launch)


def _shell_line(text: str, launch: Launch, depth: int) -> Iterator[Found]:
    """Each command of a shell command line: split at its control operators (``;``,
    ``&&``, ``|``, a line break...), a redirection's file left out, the words before the
    program (``NAME=value``, ``exec``, ``if``...) read for what they load."""
    for command in _commands(text):
        assigned: list[tuple[str, str]] = []
        while command and (command[0] in RESERVED
                           or re.fullmatch(r"[A-Za-z_]\w*=.*", command[0])):
            if "=" in command[0]:
                name, _, value = command[0].partition("=")
                assigned.append((name, value))
            command = command[1:]
        if assigned:
            yield from loaded(replace(launch, env=tuple(assigned)))
        yield from _command(command, launch, depth + 1)


def _commands(text: str) -> list[list[str]]:
    """A shell command line's commands, as far as shlex reads a shell."""
    lexer = shlex.shlex(text.replace("\n", ";"), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:
        return []
    commands: list[list[str]] = [[]]
    redirected = False
    for token in tokens:
        if token and set(token) <= OPERATORS:
            redirected = token[-1] in "<>"
            if not redirected:
                commands.append([])
        elif redirected:
            redirected = False  # the redirection's file: no command
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


# -- interpreters ----------------------------------------------------------------------


def _python(rest: Sequence[str], launch: Launch) -> Iterator[Found]:
    """Python's script, and the directory it imports from first: the script's, else
    (``-m``, ``-c``, standard input) the working directory."""
    i, isolated = 0, False
    while i < len(rest) and rest[i].startswith("-"):
        flag = rest[i]
        if flag.startswith(("-m", "-c")):
            break
        # -I and -P keep the script's directory and the working directory off the path
        isolated = isolated or (not flag.startswith("--") and bool(set(flag[1:]) & set("IP")))
        i += 2 if flag in PYTHON_VALUES else 1
    script = rest[i] if i < len(rest) and not rest[i].startswith("-") else None
    if script is None:
        first, fix = launch.directory, ("; or start crg run in a directory only you can "
                                        "write, or give the application a dir")
    else:
        yield from _script(script, launch)
        first, fix = os.path.dirname(os.path.join(launch.directory, script)), ""
    if not isolated and (why := others_can_change(first, adding=True)) is not None:
        yield f"{first} (Python imports from it first)", why + fix


def _interpreter(base: str, rest: Sequence[str], launch: Launch) -> Iterator[Found]:
    """The script of ``awk -f``, ``perl``, ``node``... — the first operand if it is not
    there yet, every file named among the arguments if it is (an option's value may stand
    before the script: ``perl -I lib x.pl``, ``awk -v a=1 -f x.awk``) — Perl's and Ruby's
    ``-I`` directories, and for Node every directory it looks for ``node_modules`` in."""
    operands = [w for w in rest if not w.startswith("-")]
    for word in operands:
        where = os.path.join(launch.directory, word)
        if os.path.isfile(where) and (why := others_can_change(where)) is not None:
            yield where, why
    first = next((w for w in operands if not os.path.exists(os.path.join(launch.directory, w))
                  and "=" not in w), None)
    if first is not None and ("/" in first or first.endswith((".pl", ".rb", ".js", ".awk"))):
        yield from _unfound(os.path.join(launch.directory, first), launch)
    for i, word in enumerate(rest):
        library = (rest[i + 1] if word == "-I" and i + 1 < len(rest)
                   else word[2:] if word.startswith("-I") and len(word) > 2 else None)
        if library is not None:
            folder = os.path.join(launch.directory, library)
            if (why := others_can_change(folder, adding=True)) is not None:
                yield f"{folder} (its -I)", why
    if NODE.fullmatch(base) and operands:
        # require() looks in node_modules of the script's directory and of every one above
        folder = os.path.dirname(os.path.join(launch.directory, operands[0]))
        while folder and folder != os.path.dirname(folder):
            if (why := others_can_change(folder, adding=True)) is not None:
                yield f"{folder}/node_modules (Node looks there)", why
            folder = os.path.dirname(folder)


def _script(script: str | None, launch: Launch) -> Iterator[Found]:
    """The script an interpreter is given: judged if it is there, by where it would be
    if not."""
    if script is None:
        return
    where = os.path.join(launch.directory, script)
    if os.path.isfile(where):
        if (why := others_can_change(where)) is not None:
            yield where, why
    elif not os.path.exists(where):
        yield from _unfound(where, launch)


def _shebang(file: str) -> list[str]:
    """The interpreter line of a script (``#!/usr/bin/env python3``: its words); empty
    for a binary or a file that cannot be read."""
    try:
        with open(file, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        return []
    if not first.startswith(b"#!"):
        return []
    return first[2:].decode(errors="replace").split()


# -- files -----------------------------------------------------------------------------


def _named_programs(words: Sequence[str], launch: Launch) -> Iterator[Found]:
    """A program named by its path anywhere on the line, a word or inside one (code given
    to ``perl -e``, ``awk``, ``find -exec``...): whatever starts it, it is a program."""
    for word in words:
        named = [word] if "/" in word and not word.startswith("/") else []
        for candidate in (*named, *_ABSOLUTE.findall(word)):
            exe = _find(candidate, launch, executable=True)
            if exe is not None and (why := others_can_change(exe[0])) is not None:
                yield exe[0], why


def loaded(launch: Launch) -> Iterator[Found]:
    """The paths in ``launch``'s environment that code is loaded from, where another user
    could change what is there, or put something there."""
    for name, value in launch.env:
        if name not in LOADERS:
            continue
        for part in re.split(r"[\s:;]+", value):
            path = part.split("=", 1)[-1].replace("?", "")  # --require=/x.js, /x/?.lua
            if not path.startswith("/"):
                if name not in PATH_LISTS or not path:
                    continue
                path = os.path.join(launch.directory, path)
            if os.path.exists(path):
                why = others_can_change(path, adding=os.path.isdir(path))
                if why is not None:
                    yield f"{path} ({name} in its env)", why
            else:
                for shown, why in _unfound(path, launch):
                    yield f"{shown} ({name} in its env)", why


def _unfound(name: str, launch: Launch) -> Iterator[Found]:
    """A program or script not there now: where it would be looked for must not take a
    new file from another user (the runtime looks again at every start)."""
    if "/" in name:
        where = os.path.join(launch.directory, name)
        folder = os.path.dirname(where)
        while folder and not os.path.isdir(folder) and folder != os.path.dirname(folder):
            folder = os.path.dirname(folder)
        if (why := others_can_change(folder, adding=True)) is not None:
            yield f"{where} (not there yet)", why
        return
    for folder in launch.path:
        where = os.path.join(launch.directory, folder)
        if (why := others_can_change(where, adding=True)) is not None:
            yield f"{os.path.join(where, name)} (not there yet)", why


def _find(name: str, launch: Launch, executable: bool = False) -> tuple[str, list[str]] | None:
    """Where ``name`` is found as the runtime would find it, and the directories searched
    before (None: nowhere). ``executable``: only an executable file counts."""
    if not name:
        return None
    if "/" in name:
        where = os.path.join(launch.directory, name)
        if os.path.isfile(where) and (not executable or os.access(where, os.X_OK)):
            return where, []
        return None
    for i, folder in enumerate(launch.path):
        where = os.path.join(launch.directory, folder, name)
        if os.path.isfile(where) and os.access(where, os.X_OK):
            return where, [os.path.join(launch.directory, f) for f in launch.path[:i]]
    return None


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return []
