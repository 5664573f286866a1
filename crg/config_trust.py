"""Whether another local user could change the configuration ``crg run`` is given.

Its commands — applications, hooks, alert commands — run as the runtime's user, root as
often as not: a file, or a directory on its path, that someone else may write is someone
else's commands. ``crg run`` refuses it (exit 2) as sshd's StrictModes refuses a key file,
with two allowances sshd lacks, so that the quick start works where users' files are
group-writable by default (umask 002): a sticky directory (``/tmp``: there only a file's
owner may replace it), and a group with no member but the user (a user-private group).
Root's files are trusted: root can change anything anyway.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

from crg.runtime.linefile import user_name


def others_can_change(path: str, *, adding: bool = False) -> str | None:
    """Why another user could change the file at ``path``, with what to do about it; None
    if nobody but the user (or root) can. Judged are the file and every directory above
    it, both as written (a symbolic link on the way, or the directory holding it, could
    be replaced to point elsewhere at the next start) and with the links resolved (what
    is read now). A path that cannot be read is not judged here: reading it says what is
    wrong. ``adding``: ``path`` is a directory searched for a name (``PATH``), so a new
    file in it is a change too, and a sticky directory no better than any other."""
    given = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    for where in dict.fromkeys((given, *given.parents, real, *real.parents)):
        why = _changeable(where, adding=adding and where in (given, real))
        if why is not None:
            return why
    return None


def _changeable(where: Path, *, adding: bool = False) -> str | None:
    """Why another user could change ``where`` itself (its entry, not what a link at it
    points to): a link's own modes mean nothing, its owner does."""
    me = os.geteuid()
    try:
        info = os.lstat(where)
    except OSError:
        return None
    link = stat.S_ISLNK(info.st_mode)
    # In a sticky directory (/tmp) only a file's owner may rename or replace it; anyone
    # may still add a file, which matters where a name is looked for (``adding``).
    mode, sticky_dir = info.st_mode, (stat.S_ISDIR(info.st_mode) and not adding
                                      and bool(info.st_mode & stat.S_ISVTX))
    shown = f"{where} ({'a symbolic link' if link else f'mode {stat.S_IMODE(mode):04o}'}"
    if info.st_uid not in (me, 0):
        return (f"{shown}, owner {user_name(info.st_uid)}) belongs to another user; "
                f"make it yours (chown {'-h ' if link else ''}{user_name(me)} {where}) or "
                "keep the configuration where only you can write")
    if link:
        return None
    if mode & stat.S_IWOTH and not sticky_dir:
        return f"{shown}) is writable by every user; chmod o-w {where}"
    if mode & stat.S_IWGRP and not sticky_dir:
        others = group_members(info.st_gid) - {user_name(me), "root"}
        if others:
            group = _group_name(info.st_gid)
            return (f"{shown}, group {group}) is writable by the group {group}, whose "
                    f"members include {', '.join(sorted(others))}; chmod g-w {where}")
    return None


def group_members(gid: int) -> set[str]:
    """Every user in group ``gid``: those it lists, and those whose own group it is."""
    try:
        members = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        members = set()
    members.update(p.pw_name for p in pwd.getpwall() if p.pw_gid == gid)
    return members


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"
