"""The symbolic engine's limits that the command line shows without importing z3."""

EXPLICIT_MAX_STATES = 50_000
"""Largest component (distinct states, symmetry-reduced) whose liveness, and any safety
invariant z3 left open, the symbolic engine has the explicit engine decide: about a second
and a half of search on a quiet day here (benchmarks/README.md, "Checker")."""
