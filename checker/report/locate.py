"""Where in the ``.crg`` file a violation points: the statement of the group concerned
that is most likely at fault (for code-review annotations and the text report)."""

from __future__ import annotations

from crg.checker.result import Violation
from crg.dsl import Config
from crg.dsl.source import Span

_KEYWORD = {
    "coverage": "possible",        # the list of standbys is too short for the assumption
    "vip-unique": "fencing",       # two holders: a node that does not fence itself
    "app-exclusive": "fencing",
    "vip-allowed": "possible",
    "normal-mode": "preferred",
    "failover-order": "possible",
    "last-node-alert": "alert",
}


def span_of(config: Config, violation: Violation) -> Span:
    """The statement's span when the group has it, else the group block, else the
    cluster block."""
    if violation.group is None:
        return config.cluster.span
    group = config.group(violation.group)
    if violation.prop.liveness:
        keyword = "avoid" if group.avoid else "failback"
    else:
        keyword = _KEYWORD.get(violation.prop.name, "preferred")
    span = group.where(keyword)
    return span if span.line > 0 else group.span
