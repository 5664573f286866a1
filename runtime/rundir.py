"""The run directory: where a runtime keeps its lock, its control socket and the logs of
its applications — and which no other local user may plant anything in.

Default: ``$XDG_RUNTIME_DIR/crg/CLUSTER``, else ``/tmp/crg-UID/CLUSTER`` (``.NODE``
appended for one node of several hosts); ``--run-dir`` names another. The base and the
run directory are created ``0700``; an existing one is used only if it is a directory
(not a symbolic link), belongs to the user and is writable by nobody else — otherwise
:class:`RunDirError` says whose it is and what to do (``crg run`` exits 2). A directory
someone else made first could hold links that make crg truncate or append to files of
the user's, or a socket that answers commands in crg's place.

Files in it are opened without following symbolic links, component by component
(:func:`open_beneath`), and created ``0600``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from crg.runtime.linefile import user_name

SOCKET = "control.sock"
LOCK = "lock"


class RunDirError(Exception):
    """The run directory cannot be used safely, or another runtime holds it (exit 2)."""


def base_dir() -> Path:
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    # A relative one is ignored, as the XDG base directory specification asks: the run
    # directory would depend on the working directory, and crg status, run from
    # another one, would not find the runtime.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "crg"
    return Path(f"/tmp/crg-{os.getuid()}")


def run_dir_for(cluster: str, node: str | None = None) -> Path:
    return base_dir() / (cluster if node is None else f"{cluster}.{node}")


def _mode(st_mode: int) -> str:
    return f"{stat.S_IMODE(st_mode):04o}"


def private_dir(path: Path, what: str = "the run directory") -> None:
    """Make ``path`` a directory of the user's that nobody else may write: created
    ``0700`` when missing (its parents as usual), else checked (see the module)."""
    try:
        with contextlib.suppress(FileExistsError):
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(path, 0o700)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise RunDirError(f"{what} {_not_a_directory(path)}; remove it, or choose "
                              "another with --run-dir") from None
        raise
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    why = _not_own(info, path, what)
    if why is not None and info.st_uid != os.geteuid():
        raise RunDirError(
            f"{why}: another user may have made it to plant files or a control socket for "
            f"crg; remove it (if you trust it: rm -r {path}), or choose another with "
            "--run-dir")
    if why is not None:
        raise RunDirError(
            f"{why}: anyone could plant files or a control socket in it; make it private "
            f"(chmod 700 {path}) if its contents are yours, or choose another with --run-dir")


def _not_own(info: os.stat_result, path: Path, what: str) -> str | None:
    """Why the directory ``info`` describes is not private to the user: another's, or
    writable by others (None: it is private)."""
    me = os.geteuid()
    if info.st_uid != me:
        return (f"{what} {path} belongs to {user_name(info.st_uid)} (mode "
                f"{_mode(info.st_mode)}), not to {user_name(me)}")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} {path} is writable by others (mode {_mode(info.st_mode)})"
    return None


def not_private(path: Path, what: str) -> str | None:
    """Why ``path`` is not a directory of the user's that nobody else may write, in the
    words :func:`private_dir` refuses it with (None: it is, or it is not there). For the
    commands that look for a runtime: they create nothing, and must not talk to what
    another user planted under the default base."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{what} {path}: {exc.strerror or exc}"
    if not stat.S_ISDIR(info.st_mode):
        return f"{what} {_not_a_directory(path)}"
    return _not_own(info, path, what)


def kind_of(mode: int) -> str:
    """What a file is, by its ``lstat`` mode, in words for a message."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device file" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "another kind of file"


def _not_a_directory(path: Path) -> str:
    """Why ``path`` cannot be opened as a directory, by what it is: only a link is refused
    for being a link; a regular file (or a pipe...) simply is not a directory, and neither
    is the first of its parents that is not one."""
    try:
        mode = os.lstat(path).st_mode
    except NotADirectoryError:
        parent = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()),
                      None)
        if parent is None:  # gone meanwhile
            return f"{path} is not a directory"
        return f"{path} cannot be made: {parent} is {kind_of(os.lstat(parent).st_mode)}"
    if stat.S_ISLNK(mode):
        return f"{path} is a symbolic link: crg does not follow links for it"
    return f"{path} is {kind_of(mode)}, not a directory"


def open_beneath(root: Path, path: Path, *, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """Open (create ``0600`` if missing) ``path``, a file under ``root``, following no
    symbolic link below ``root``: each directory in between is created ``0700`` if
    missing and opened with ``O_NOFOLLOW``, then the file itself. A path outside
    ``root`` is opened with ``O_NOFOLLOW`` on its last part only. Raises OSError."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700, dir_fd=directory)
            inner = _open_at(directory, part,
                             os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                             path)
            os.close(directory)
            directory = inner
        return _open_at(directory, parts[-1],
                        flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, path, 0o600)
    finally:
        os.close(directory)


def _open_at(directory: int, name: str, flags: int, path: Path, mode: int = 0o777) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=directory)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(directory, name):
            # O_NOFOLLOW says ELOOP for a file, O_DIRECTORY ENOTDIR for a directory.
            raise OSError(errno.ELOOP, f"{name} is a symbolic link, which crg does not "
                          "follow in its run directory", str(path)) from None
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def _is_link(directory: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=directory).st_mode)
    except OSError:
        return False


@dataclass
class RunDir:
    """A run directory this runtime holds: an exclusive lock (``flock`` on ``lock``) for
    the runtime's whole life, so that a second runtime on the same directory fails at
    once, even when both start at the same instant. The kernel drops the lock when the
    process dies, however it dies; the descriptor is not inherited by the applications
    (``O_CLOEXEC``), or an orphan would keep a restarted runtime out."""

    path: Path
    socket: Path
    lock_fd: int

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


def prepare(run_dir: Path, *, default: bool = False) -> RunDir:
    """Make the run directory safe (see the module; ``default``: the base directory
    too) and lock it, or raise RunDirError: unsafe, or another runtime holds it. A
    socket left by a runtime that died is removed. OSError: it cannot be made."""
    if default:
        private_dir(run_dir.parent, "the base of the run directory")
    private_dir(run_dir)
    try:
        fd = open_beneath(run_dir, run_dir / LOCK, flags=os.O_RDWR)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RunDirError(f"{run_dir / LOCK}: {exc.strerror}; remove it") from None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _lock_holder(fd)
        os.close(fd)
        raise RunDirError(f"a crg runtime{holder} is already running with the run directory "
                          f"{run_dir}: stop it first, or give this one another --run-dir"
                          ) from None
    except OSError:
        os.close(fd)
        raise
    with contextlib.suppress(OSError):  # who holds it, for the next one: best effort
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(run_dir / SOCKET)  # we hold the lock: whoever made this socket is gone
    return RunDir(run_dir, run_dir / SOCKET, fd)


def _lock_holder(fd: int) -> str:
    """`` (pid N)`` of the runtime holding the lock, as it wrote it, if readable."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""
