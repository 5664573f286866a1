"""Pacemaker's booleans, as its own ``crm_str_to_boolean`` reads them.

A cluster property, meta attribute or node attribute that says yes or no may spell it
``true``/``on``/``yes``/``y``/``1`` or ``false``/``off``/``no``/``n``/``0``, in any case:
``symmetric-cluster=on`` is a symmetric cluster. Reading only ``true``, ``yes`` and ``1``
made it an opt-in one, and every group without a location "no node may run it".
"""

from __future__ import annotations

TRUE = frozenset({"true", "on", "yes", "y", "1"})
FALSE = frozenset({"false", "off", "no", "n", "0"})


def boolean(text: str | None) -> bool | None:
    """``text`` as Pacemaker reads a boolean; None when it is not one (Pacemaker then
    takes the option's default and crm_verify calls the configuration invalid)."""
    value = (text or "").lower()  # compared as written: Pacemaker strips no blanks
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    return None
