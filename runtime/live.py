"""The running cluster's state for ``crg simulate --live`` (the control API's ``state``
request): the configuration the runtime runs, as its text, and the spec state the store
says now — what a simulation starts from instead of start-up, as ``crm_simulate -L``
starts from the live CIB."""

from __future__ import annotations

from typing import Any

from crg.runtime.commit import Actor, Services, read_state


async def live_state(services: Services, actor: Actor) -> dict[str, Any]:
    snap, state = await read_state(services, actor)
    source = services.config.source
    return {"state": str(state), "revision": snap.revision,
            "config": {"path": source.path, "text": source.text,
                       "sha256": services.fingerprint[0]}}
