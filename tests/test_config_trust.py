"""crg run refuses a configuration another local user could change (crg.config_trust):
its commands would run as the runtime's user — root, often."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from crg import config_trust
from crg.config_trust import others_can_change

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, mode: int = 0o644) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o755)
    path = folder / "shop.crg"
    shutil.copy(ROOT / "examples" / "quickstart.crg", path)
    path.chmod(mode)
    return path


def test_a_file_only_its_user_can_write_is_trusted(tmp_path: Path) -> None:
    assert others_can_change(str(_config(tmp_path))) is None


def test_a_file_every_user_can_write_is_not(tmp_path: Path) -> None:
    path = _config(tmp_path, 0o666)
    assert others_can_change(str(path)) == (
        f"{path} (mode 0666) is writable by every user; chmod o-w {path}")


def test_a_directory_every_user_can_write_is_not_unless_sticky(tmp_path: Path) -> None:
    path = _config(tmp_path)
    path.parent.chmod(0o777)
    assert others_can_change(str(path)) == (
        f"{path.parent} (mode 0777) is writable by every user; chmod o-w {path.parent}")
    # as /tmp: there only a file's owner may rename or replace it
    path.parent.chmod(0o1777)
    assert others_can_change(str(path)) is None


def test_a_link_is_judged_by_where_it_leads(tmp_path: Path) -> None:
    path = _config(tmp_path)
    path.parent.chmod(0o777)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = private / "shop.crg"
    link.symlink_to(path)
    assert others_can_change(str(link)) is not None


def test_a_link_is_judged_where_it_is_too(tmp_path: Path) -> None:
    # Found by an outside tester: the path was resolved before anything was judged, so a
    # link in a directory anyone may write (replaced at will to point elsewhere at the
    # next start) passed, its target being fine.
    path = _config(tmp_path)
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o777)
    link = public / "shop.crg"
    link.symlink_to(path)
    assert others_can_change(str(link)) == (
        f"{public} (mode 0777) is writable by every user; chmod o-w {public}")
    # in a sticky one, a link of one's own is one's own: only its owner may replace it
    public.chmod(0o1777)
    assert others_can_change(str(link)) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: gives a link to another user")
def test_a_link_of_another_user_is_not_trusted(tmp_path: Path) -> None:
    path = _config(tmp_path)
    public = tmp_path / "public"
    public.mkdir(mode=0o1777)
    public.chmod(0o1777)
    link = public / "shop.crg"
    link.symlink_to(path)
    os.chown(link, pwd.getpwnam("nobody").pw_uid, -1, follow_symlinks=False)
    why = others_can_change(str(link))
    assert why is not None and why.startswith(f"{link} (a symbolic link, owner nobody) "
                                              "belongs to another user; make it yours "
                                              f"(chown -h ")


def test_a_group_with_other_members_counts_as_others(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, 0o664)
    gid = path.stat().st_gid
    name = grp.getgrgid(gid).gr_name
    # a user-private group (no member but the user): umask 002 is no reason to refuse
    monkeypatch.setattr(config_trust, "group_members", lambda g: {pwd.getpwuid(os.geteuid())
                                                                  .pw_name})
    assert others_can_change(str(path)) is None
    monkeypatch.setattr(config_trust, "group_members", lambda g: {"mallory", "root"})
    assert others_can_change(str(path)) == (
        f"{path} (mode 0664, group {name}) is writable by the group {name}, whose members "
        f"include mallory; chmod g-w {path}")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: gives the file to another user")
def test_a_file_of_another_user_is_not_trusted(tmp_path: Path) -> None:
    path = _config(tmp_path, 0o600)
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, -1)
    why = others_can_change(str(path))
    assert why is not None and why.startswith(f"{path} (mode 0600, owner nobody) belongs "
                                              "to another user; make it yours")


def test_crg_run_refuses_it_before_anything_starts(tmp_path: Path) -> None:
    path = _config(tmp_path, 0o666)
    run_dir = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "crg", "run", str(path), "--run-dir",
                             str(run_dir)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.endswith(f"is writable by every user; chmod o-w {path}\n")
    assert "crg run takes no configuration another user could change" in result.stderr
    assert "Traceback" not in result.stderr and not run_dir.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o666  # told, not changed
