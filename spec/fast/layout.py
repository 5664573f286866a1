"""The packed encoding of states: one Python int per cluster state (the fast layer).

A state is the node masks followed by one fixed-width field per group::

    bits [0, 4N)                  down, cut, lost, drained masks (N bits each)
    group g at offset 4N + g*W    vip, app, mon, wd, ban masks (N bits each),
                                  owner, target (R bits each: node index + 1),
                                  restarts (B bits), then one bit per flag
                                  (variables.FLAG_FIELDS)

One int hashes and compares fast and costs about 30 + bits/8 bytes, which is what lets
the explicit checker keep millions of states. The rules never see this encoding: they
work on :class:`~crg.spec.vocabulary.variables.GroupVars`, and :class:`Layout` converts.
"""

from __future__ import annotations

from crg.spec.vocabulary.variables import (
    FLAG_FIELDS,
    MASK_FIELDS,
    AvoidedVars,
    GroupVars,
    NodeVars,
    avoided_vars,
)


class Layout:
    def __init__(self, n_nodes: int, n_groups: int, max_budget: int) -> None:
        self.n_nodes = n = n_nodes
        self.n_groups = n_groups
        self.node_mask = (1 << n) - 1
        self.nodes_width = 4 * n
        self.ref_bits = (n + 1).bit_length()
        self.restart_bits = max(max_budget, 1).bit_length()
        self.off_owner = len(MASK_FIELDS) * n
        self.off_target = self.off_owner + self.ref_bits
        self.off_restarts = self.off_target + self.ref_bits
        self.off_flags = self.off_restarts + self.restart_bits
        self.group_width = self.off_flags + len(FLAG_FIELDS)
        self.group_mask = (1 << self.group_width) - 1
        self.ref_mask = (1 << self.ref_bits) - 1
        self.restart_mask = (1 << self.restart_bits) - 1
        self.avoided_mask = ((self.node_mask << (MASK_FIELDS.index("ban") * n))
                             | (self.ref_mask << self.off_owner)
                             | (self.ref_mask << self.off_target)
                             | (1 << (self.off_flags + FLAG_FIELDS.index("maintenance"))))
        """The bits of a group part that a group avoiding it reads (``AvoidedVars``)."""
        self.offsets = tuple(self.nodes_width + g * self.group_width for g in range(n_groups))

    # -- whole state -----------------------------------------------------------------

    def nodes_part(self, state: int) -> int:
        return state & ((1 << self.nodes_width) - 1)

    def group_part(self, state: int, g: int) -> int:
        return (state >> self.offsets[g]) & self.group_mask

    def with_group_part(self, state: int, g: int, part: int) -> int:
        off = self.offsets[g]
        return state ^ ((((state >> off) & self.group_mask) ^ part) << off)

    def assemble(self, nodes: int, groups: list[int]) -> int:
        state = nodes
        for off, part in zip(self.offsets, groups, strict=True):
            state |= part << off
        return state

    # -- nodes -----------------------------------------------------------------------

    def unpack_nodes(self, part: int) -> NodeVars:
        m, n = self.node_mask, self.n_nodes
        return NodeVars(down=part & m, cut=(part >> n) & m, lost=(part >> (2 * n)) & m,
                        drained=(part >> (3 * n)) & m)

    def pack_nodes(self, nodes: NodeVars) -> int:
        n = self.n_nodes
        return (int(nodes.down) | (int(nodes.cut) << n) | (int(nodes.lost) << (2 * n))
                | (int(nodes.drained) << (3 * n)))

    # -- groups ----------------------------------------------------------------------

    def unpack_avoided(self, key: int) -> AvoidedVars:
        """What a group avoiding this one reads, from its part masked by ``avoided_mask``."""
        return avoided_vars(self.unpack_group(key))

    def unpack_group(self, part: int) -> GroupVars:
        m, n = self.node_mask, self.n_nodes
        flags = part >> self.off_flags
        return GroupVars(
            owner=(part >> self.off_owner) & self.ref_mask,
            target=(part >> self.off_target) & self.ref_mask,
            restarts=(part >> self.off_restarts) & self.restart_mask,
            **{f: (part >> (i * n)) & m for i, f in enumerate(MASK_FIELDS)},
            **{f: bool((flags >> i) & 1) for i, f in enumerate(FLAG_FIELDS)},
        )

    def pack_group(self, g: GroupVars) -> int:
        n = self.n_nodes
        restarts = int(g.restarts)
        if not 0 <= restarts <= self.restart_mask:
            raise ValueError(f"restart count {restarts} does not fit the layout")
        part = ((int(g.owner) << self.off_owner) | (int(g.target) << self.off_target)
                | (restarts << self.off_restarts))
        for i, f in enumerate(MASK_FIELDS):
            part |= int(getattr(g, f)) << (i * n)
        for i, f in enumerate(FLAG_FIELDS):
            part |= bool(getattr(g, f)) << (self.off_flags + i)
        return part
