"""crg.dsl.export: the plain-data shape behind `crg show --format json`."""

from __future__ import annotations

from pathlib import Path

import pytest

from crg.dsl import load, parse
from crg.dsl.builder import duration_ms
from crg.dsl.export import config_to_dict, duration_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("ms", "text"), [
    (1, "1ms"), (250, "250ms"), (1000, "1s"), (1500, "1s500ms"), (90_000, "1m30s"),
    (3_600_000, "1h"), (3_661_001, "1h1m1s1ms"), (0, "0ms"),
])
def test_duration_text(ms: int, text: str) -> None:
    assert duration_text(ms) == text
    assert duration_ms(text) == ms


def test_defaults_are_filled_in() -> None:
    config = parse('cluster c { nodes a b }\n'
                   'group g { vip fd00::5/64 app { start "run" } monitor process preferred a }')
    data = config_to_dict(config)
    assert data["cluster"] == {"name": "c", "nodes": ["a", "b"], "lease_ms": 3000,
                               "heartbeat_ms": 500, "store_timeout_ms": 500,
                               "fence_margin_ms": 500, "max_down": 1,
                               "faults": ["app-fault", "crash", "switchover"]}
    [group] = data["groups"]
    assert group["vip"] == {"address": "fd00::5", "prefix": 64, "device": None}
    assert group["app"]["stop"] == {"command": None, "argv": None, "signal": "TERM",
                                    "timeout_ms": 10_000}
    assert group["monitors"] == [{"kind": "process", "target": None, "interval_ms": 2000,
                                  "timeout_ms": 1000, "fails": 3, "line": 2}]
    assert (group["kind"], group["failback"], group["fencing"]) == ("failover", "manual",
                                                                    "self")
    assert group["alerts"] == [{"kind": "log", "target": None}]
    assert group["candidates"] == ["a"] and group["possible"] == []
    assert [w["code"] for w in data["warnings"]] == ["no-standby", "unused-node"]


def test_group_statements_win_over_defaults() -> None:
    data = config_to_dict(load(ROOT / "examples" / "web-tier.crg"))
    www = next(g for g in data["groups"] if g["name"] == "www")
    static = next(g for g in data["groups"] if g["name"] == "static")
    assert www["notify"] == ["api"]
    assert static["notify"] == ["www", "api", "db"]  # default: every other group
    assert [a["kind"] for a in www["alerts"]] == ["log", "webhook"]  # from defaults
