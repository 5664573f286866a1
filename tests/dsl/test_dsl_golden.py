"""`crg show --format json` for every example, compared with tests/dsl/golden/.

Regenerate after an intended change with ``CRG_UPDATE_GOLDEN=1 pytest tests/dsl``, then
read the diff: it is the change in what tools see.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.rglob("*.crg"))
GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((ROOT / "crg" / "schemas" / "config.schema.json").read_text())
UPDATE = os.environ.get("CRG_UPDATE_GOLDEN") == "1"


def golden_path(example: Path) -> Path:
    return GOLDEN / example.relative_to(EXAMPLES_DIR).with_suffix(".json")


@pytest.mark.parametrize("example", EXAMPLES,
                         ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_show_json_matches_golden(example: Path, crg: Callable[..., Any]) -> None:
    result = crg("show", "--format", "json", str(example))
    assert result.code == 0, result.err
    golden = golden_path(example)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.out, encoding="utf-8")
    assert result.out == golden.read_text(encoding="utf-8")
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(result.out))


def test_every_golden_file_has_its_example() -> None:
    expected = {golden_path(e) for e in EXAMPLES}
    assert set(GOLDEN.rglob("*.json")) == expected


def test_schema_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
