"""What an agent tells its metrics as it works (:mod:`crg.runtime.http.metrics` keeps
them). This base class tells nobody: an agent without ``--http`` pays a method call.

Only what cannot be read back from the store or the agent later goes through here —
how long a renewal or a cycle took, what this node committed, which calls failed; a
group's mode or holder is read from the spec's state when someone asks.
"""

from __future__ import annotations

from crg.spec import Action, State


class Telemetry:
    def renewal(self, seconds: float) -> None:
        """A lease renewal succeeded after ``seconds``."""

    def cycle(self, group: str, seconds: float) -> None:
        """A cycle of ``group``'s lane ended after ``seconds``."""

    def committed(self, action: Action, before: State, after: State) -> None:
        """This node committed ``action``."""

    def runtime_alert(self, group: str) -> None:
        """A runtime alert about ``group`` went to the operator."""

    def alert_delivery(self, sink: str, delivered: bool) -> None:
        """An alert went to a sink of kind ``sink``, which took it or not."""

    def store_error(self, call: str) -> None:
        """A call to the coordination store failed (``call``: its kind)."""


NO_TELEMETRY = Telemetry()
