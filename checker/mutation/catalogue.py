"""The catalogue: every mutant of the current rules with its verdict, kept in the project.

``checker/mutation/catalogue.json`` maps a mutant's identity (its place, its kind of slip
and a digest of the edited text) to what the harness found: caught by which invariant on
which configuration, refused by the model, or equivalent to the original — with the
reason written next to it. The test suite replays it (``tests/checker/
test_mutation_catalogue.py``): every mutant of the rules as they are now must be listed,
every caught one must still be caught there, every equivalent one still equivalent on the
harness's small configurations. ``benchmarks/mutation_score.py --update`` rebuilds it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PATH = Path(__file__).parent / "catalogue.json"


@dataclass(frozen=True, slots=True)
class Entry:
    outcome: str
    """``caught``, ``refused``, ``equivalent``, or ``survived``: a known gap, with the
    property it needs written as its reason."""
    description: str
    config: str | None = None
    invariant: str | None = None
    reason: str | None = None
    """Why an equivalent mutant changes nothing, or which property a survivor needs
    (required for both)."""


def load(path: Path = PATH) -> dict[str, Entry]:
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {ident: Entry(**fields) for ident, fields in data["mutants"].items()}


def save(entries: dict[str, Entry], path: Path = PATH) -> None:
    body = {"mutants": {ident: {k: v for k, v in asdict(e).items() if v is not None}
                        for ident, e in sorted(entries.items())}}
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
