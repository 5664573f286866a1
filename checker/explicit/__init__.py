"""The explicit-state engine: breadth-first search over packed states (SPEC.md section 11)."""
