"""The VIP sampler's reading of one moment, without namespaces: a VIP handed over while
the sampler reads one namespace after another is not two holders; one that stays on both
is. (The real netlink sampling is tested on the test bed, tests/integration/
test_netbed_store.py.)"""

from __future__ import annotations

from collections.abc import Iterator

from sampler import Sampler

VIP = "10.213.0.80"


class Scripted(Sampler):
    """What each node holds at each of its reads, in order."""

    def __init__(self, script: dict[str, list[set[str]]]) -> None:
        super().__init__({node: f"ns-{node}" for node in script}, (VIP,))
        self._reads: dict[str, Iterator[set[str]]] = {n: iter(r) for n, r in script.items()}
        self._sockets = dict.fromkeys(script)  # type: ignore[arg-type]  # order only

    def _held_on(self, node: str) -> set[str]:
        return next(self._reads[node])


def test_a_handover_during_the_read_is_one_holder() -> None:
    # n1 is read holding the VIP, then n2 holding it: n1 had let go in between
    sampler = Scripted({"n1": [{VIP}, set()], "n2": [{VIP}], "n3": [set()]})
    assert sampler.read()[VIP] == {"n2"}


def test_a_vip_held_on_both_is_two_holders() -> None:
    sampler = Scripted({"n1": [{VIP}, {VIP}], "n2": [{VIP}], "n3": [set()]})
    assert sampler.read()[VIP] == {"n1", "n2"}
