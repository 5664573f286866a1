"""Watchdog, self-fencing and the alerts (SPEC.md, "Watchdog", "Fencing", "Alerts")."""

from __future__ import annotations

from crg.spec.rules.placement import blocked, switching_disabled
from crg.spec.rules.roles import excess
from crg.spec.rules.run import Step
from crg.spec.rules.view import (
    View,
    cluster_coordinator,
    holds,
    managed,
    owned,
    stranded,
    up,
)
from crg.spec.vocabulary.algebra import Word
from crg.spec.vocabulary.variables import GroupVars


def _peel(v: View, n: Word) -> GroupVars:
    """Remove the top layer of the group's stack on ``n``, in halt order: the monitors if
    they run, else the application, else the VIP. The watchdog doing it stays while
    anything is left and retires with the last layer."""
    a, g = v.a, v.g
    has_mon, has_app = a.bit(g.mon, n), a.bit(g.app, n)
    app_removed = a.and_(a.not_(has_mon), has_app)
    more_left = a.or_(has_mon, has_app)
    return g._replace(
        mon=a.with_bit(g.mon, n, a.false),
        app=a.ite(has_mon, g.app, a.with_bit(g.app, n, a.false)),
        vip=a.ite(more_left, g.vip, a.with_bit(g.vip, n, a.false)),
        wd=a.with_bit(g.wd, n, more_left),
        # A failure is cleaned up once the failed application is gone, whoever removed it.
        failed=a.and_(g.failed, a.not_(a.and_(app_removed, owned(v, n)))),
    )


def watchdog_clean(v: View, n: Word) -> Step:
    """A watchdog removes what is left of a group its node no longer hosts, one layer per
    step in halt order (claims 3, 17, 34, 41). Its node must be in contact with the store,
    where the watchdog's mark and the node's facts live; cut off, a node lets go of a
    self-fencing group by ``fence``, and cleans up the rest once it heals."""
    a, g = v.a, v.g
    guard = a.and_(a.bit(g.wd, n), up(v, n), a.not_(owned(v, n)), holds(v, n),
                   managed(v))
    return guard, _peel(v, n)


def watchdog_retire(v: View, n: Word) -> Step:
    """The watchdog retires once its node holds nothing of the group it should not (from
    a node in contact with the store, where its mark lives)."""
    a, g = v.a, v.g
    guard = a.and_(a.bit(g.wd, n), up(v, n), a.not_(excess(v, n)), managed(v))
    return guard, g._replace(wd=a.with_bit(g.wd, n, a.false))


def fence(v: View, n: Word) -> Step:
    """Self-fencing: a node cut off from the store halts the group, one layer per step,
    before its lease can expire (the timing rule of the language guarantees the time).
    It sends no event: it cannot reach anyone; the next owner sends the *service down*."""
    a = v.a
    enabled = a.true if v.topo.self_fencing else a.false
    guard = a.and_(enabled, a.bit(v.nodes.cut, n), holds(v, n))
    return guard, _peel(v, n)


def alert(v: View, n: Word) -> Step:
    """On the last live node of its list the owner raises the alert, once per episode
    (claims 11, 25)."""
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), switching_disabled(v), a.not_(g.alerted))
    return guard, g._replace(alerted=a.true)


def alert_blocked(v: View, n: Word) -> Step:
    """A group that cannot run anywhere tells its alert sinks, once per episode: its
    owner has spent the restart budget and no candidate is left within budget."""
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), blocked(v), a.not_(g.blocked_alerted))
    return guard, g._replace(blocked_alerted=a.true)


def alert_stranded(v: View, n: Word) -> Step:
    """A group left with no node to run on tells its alert sinks, once per episode: every
    node of its list is down, lost or drained, so its service is down until one comes
    back. Nobody hosts it, so the cluster's coordinator (the first node in contact with
    the store) raises it — as it sends the *service down* such a group still owes."""
    a, g = v.a, v.g
    guard = a.and_(stranded(v), a.eq(cluster_coordinator(v), a.add(n, 1)), up(v, n),
                   a.not_(g.stranded_alerted))
    return guard, g._replace(stranded_alerted=a.true)


def end_episodes(w: View) -> GroupVars:
    """An alert belongs to its episode: the stretch of states in which its condition
    holds (the last available candidate; blocked; stranded). The event that ends the stretch —
    a standby coming back, the owner going, a window passing — clears the alert's flag in
    the same step, so a new episode always raises a new alert, however soon it follows
    (a separate re-arm step could be overtaken by the next event and leave a stale flag
    that swallowed the next episode's alert). ``w`` is the view *after* the event."""
    a, g = w.a, w.g
    return g._replace(alerted=a.and_(g.alerted, switching_disabled(w)),
                      blocked_alerted=a.and_(g.blocked_alerted, blocked(w)),
                      stranded_alerted=a.and_(g.stranded_alerted, stranded(w)))
