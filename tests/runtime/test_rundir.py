"""``crg run --run-dir PATH`` where PATH is no directory: refused (exit 2) by what PATH is,
before anything starts — only a symbolic link is refused for being a link."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_run import Run

from crg.runtime import rundir

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.crg"


def make_file(path: Path) -> None:
    path.write_text("")


def make_link(path: Path) -> None:
    (path.parent / "elsewhere").mkdir()
    path.symlink_to(path.parent / "elsewhere")


def make_pipe(path: Path) -> None:
    os.mkfifo(path)


def make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as bound:
        bound.bind(str(path))  # the file stays when the socket is closed


@pytest.mark.parametrize(("make", "said"), [
    (make_file, "is a regular file, not a directory; remove it"),
    (make_link, "is a symbolic link: crg does not follow links for it; remove it"),
    (make_pipe, "is a named pipe, not a directory; remove it"),
    (make_socket, "is a socket, not a directory; remove it"),
], ids=["file", "link", "pipe", "socket"])
def test_a_run_dir_that_is_no_directory_is_named_by_what_it_is(
        tmp_path: Path, crg: Callable[..., Run], make: Callable[[Path], None],
        said: str) -> None:
    path = tmp_path / "r17"
    make(path)
    result = crg("run", str(QUICKSTART), "--run-dir", str(path))
    assert result.code == 2 and result.out == ""
    assert result.err == (f"crg: error: the run directory {path} {said}, or choose another "
                          f"with --run-dir\n")


@pytest.mark.parametrize("below", ["r17", "r17/deeper"])
def test_a_run_dir_below_a_regular_file_names_that_file(
        tmp_path: Path, crg: Callable[..., Run], below: str) -> None:
    (tmp_path / "x").write_text("")
    path = tmp_path / "x" / below
    result = crg("run", str(QUICKSTART), "--run-dir", str(path))
    assert result.code == 2 and result.out == ""
    assert result.err == (f"crg: error: the run directory {path} cannot be made: "
                          f"{tmp_path / 'x'} is a regular file; remove it, or choose another "
                          f"with --run-dir\n")


@pytest.mark.parametrize(("xdg", "base"), [("/run/user/1000", "/run/user/1000/crg"),
                                           ("relative", f"/tmp/crg-{os.getuid()}"),
                                           ("", f"/tmp/crg-{os.getuid()}")])
def test_a_relative_xdg_runtime_dir_is_ignored(monkeypatch: pytest.MonkeyPatch, xdg: str,
                                               base: str) -> None:
    """XDG_RUNTIME_DIR=relative put the run directory under the working directory of
    crg run, where crg status, run from anywhere else, did not look."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", xdg)
    assert rundir.base_dir() == Path(base)
