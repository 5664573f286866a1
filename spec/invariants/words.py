"""The words the invariants read a state with, written from SPEC.md sections 2 and 3
apart from the rules' own (``rules/view.py``, ``rules/placement.py``, ``rules/roles.py``).

The invariants are the rules' oracle. Had they read a node's liveness, the last-node
condition or a group's role through the rules' helpers, a slip in one of those helpers
(``live`` forgetting ``down``, ``switching_disabled`` counting the owner among the others
gone) would change the rules and their oracle together: every check green, and the
runtime, which executes the rules, starting an application on a crashed node or never
raising the last-node alert. An outside verifier found exactly that. So each word here
is its own statement of the definition, and the settings are read as the configuration
states them (:class:`crg.spec.vocabulary.topology.Stated`). The mutation harness then
sees what a real edit does: a slip in a rule's helper changes the rules alone.

Only ``moving`` (a group whose owner differs from its placement) is the rules': the
placement is the decision itself, restated declaratively by ``normal-mode``,
``failover-order`` and ``failback``, which catch a slip in it.
"""

from __future__ import annotations

from crg.spec.rules.view import View, cached
from crg.spec.vocabulary.algebra import Bool, Word
from crg.spec.vocabulary.topology import stated_failover


def live(v: View, n: Word) -> Bool:
    """n's lease is valid: not crashed (``down``) and not expired (``lost``)."""
    a, nodes = v.a, v.nodes
    return cached("words.live", v, n, lambda: a.and_(a.not_(a.bit(nodes.down, n)),
                                                    a.not_(a.bit(nodes.lost, n))))


def up(v: View, n: Word) -> Bool:
    """Live and not cut off from the store: the nodes that take cluster actions."""
    a = v.a
    return a.and_(a.not_(a.bit(v.nodes.cut, n)), live(v, n))


def available(v: View, n: Word) -> Bool:
    """Live and not drained: the node may host groups."""
    a = v.a
    return cached("words.available", v, n,
                  lambda: a.and_(a.not_(a.bit(v.nodes.drained, n)), live(v, n)))


def owned(v: View, n: Word) -> Bool:
    """The group's owner is n (``owner`` holds node index + 1; 0 is no owner)."""
    return v.a.eq(v.a.add(n, 1), v.g.owner)


def has_owner(v: View) -> Bool:
    return v.a.not_(v.a.eq(v.g.owner, 0))


def holds(v: View, n: Word) -> Bool:
    """Something of the group is configured on n: its VIP, application or monitors."""
    a, g = v.a, v.g
    return a.or_(a.bit(g.mon, n), a.bit(g.app, n), a.bit(g.vip, n))


def eligible(v: View, n: int) -> Bool:
    """Available and not banned for the group (its restart budget not spent there)."""
    return v.a.and_(v.a.not_(v.a.bit(v.g.ban, n)), available(v, n))


def any_available(v: View) -> Bool:
    """Some node of the group's list is available."""
    return v.a.or_(v.a.false, *(available(v, c) for c in v.topo.candidates))


def service_up(v: View, n: Word) -> Bool:
    """The whole stack on its owner n, healthy: what a *service up* announces."""
    a, g = v.a, v.g
    return a.and_(a.bit(g.vip, n), a.bit(g.app, n), a.bit(g.mon, n), owned(v, n),
                  a.not_(g.failed))


def switching_disabled(v: View) -> Bool:
    """The group sits on the last available node of its list: its owner is available and
    no other candidate is (claims 11, 25, 35, 42)."""
    return cached("words.switching_disabled", v, -1, lambda: _last_node(v))


def _last_node(v: View) -> Bool:
    a, cands = v.a, v.topo.candidates
    on_it = [a.and_(owned(v, c), available(v, c)) for c in cands]
    rest = [a.and_(*(a.not_(available(v, d)) for d in cands if d != c)) for c in cands]
    return a.or_(a.false, *(a.and_(here, alone) for here, alone in zip(on_it, rest,
                                                                        strict=True)))


def blocked(v: View) -> Bool:
    """The owner is available and banned, and no candidate is eligible: the group cannot
    run anywhere (section 4, rule 5)."""
    a = v.a
    on_banned = a.or_(a.false, *(a.and_(owned(v, n), available(v, n), a.bit(v.g.ban, n))
                                 for n in range(v.n_nodes)))
    return a.and_(on_banned, a.not_(a.or_(a.false, *(eligible(v, c)
                                                      for c in v.topo.candidates))))


def runs_app(v: View, n: Word) -> Bool:
    """The group's role on n includes the application: a failover group wherever it is
    placed, an instance group only on its preferred node; an offline or blocked group
    nowhere (section 3)."""
    a = v.a
    role = a.and_(a.not_(v.g.offline), a.not_(blocked(v)))
    if stated_failover(v.topo):
        return role
    return a.and_(role, a.eq(n, v.topo.candidates[0]))


def leftovers(v: View, n: Word) -> Bool:
    """What a watchdog must exist for: n holds something of a group it does not host, or
    hosts the group and its application failed."""
    a = v.a
    return a.or_(a.and_(holds(v, n), a.not_(owned(v, n))), a.and_(v.g.failed, owned(v, n)))
