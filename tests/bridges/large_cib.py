"""A generated Pacemaker CIB of many groups, for the import's scale test and its benchmark
(benchmarks/import_large_cib.py)."""

from __future__ import annotations


def cib(count: int) -> str:
    """``count`` groups of an IPaddr2 VIP and a systemd application, each preferring n2
    over n1, on two nodes: one line an element, as a CIB written by hand."""
    groups = "".join(
        f'<group id="g{i}">\n<primitive id="g{i}-ip" class="ocf" provider="heartbeat" '
        f'type="IPaddr2">\n<instance_attributes id="g{i}-a">\n<nvpair id="g{i}-a1" name="ip" '
        f'value="10.{i // 250}.{i % 250}.1"/>\n<nvpair id="g{i}-a2" name="cidr_netmask" '
        f'value="24"/>\n</instance_attributes>\n</primitive>\n<primitive id="g{i}-app" '
        f'class="systemd" type="s{i}"/>\n</group>\n' for i in range(count))
    constraints = "".join(f'<rsc_location id="l{i}-{n}" rsc="g{i}-ip" node="n{n}" '
                          f'score="{n}"/>\n' for i in range(count) for n in (1, 2))
    return ('<cib><configuration><nodes><node id="1" uname="n1"/><node id="2" uname="n2"/>'
            f"</nodes><resources>\n{groups}</resources><constraints>\n{constraints}"
            "</constraints></configuration></cib>\n")
