"""Fewer garbage collections while a batch command builds a large document.

Python's cyclic collector runs a young-generation pass every 700 net allocations of
tracked objects, and every pass of an older generation walks every object that survived
so far. Importing a large CIB allocates hundreds of thousands of short-lived tree nodes
(the XML, then lark's parse of the written ``.crg``) that all survive until the end:
at the default thresholds the collector walked them again and again, about a third of the
import's time (3,000 groups: 4.9 s, 3.1 s paced; benchmarks/README.md, "Import").
Nothing there is cyclic garbage worth reclaiming early, so the young generation is
collected a fourteenth as often — not switched off, so that memory stays bounded if some
step does make cycles.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

PACED = (10_000, 10, 10)
"""Thresholds while paced: young generation every 10,000 allocations (default 700)."""


@contextmanager
def paced_collections() -> Iterator[None]:
    """Collect less often inside the block; the thresholds before are restored after."""
    before = gc.get_threshold()
    gc.set_threshold(*PACED)
    try:
        yield
    finally:
        gc.set_threshold(*before)
