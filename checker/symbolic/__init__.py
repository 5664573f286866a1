"""crg.checker.symbolic: proofs with z3 over the spec's own rules."""
